// Responses API caller (POST /v1/responses): request → chat → upstream, response object and event stream back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  createProtocolTranslator, responsesToChatRequest, toResponsesResponse, ResponsesSseWriter, TranslationError, usageFromResponses,
  type CanonicalResponse,
} from '../../../../src/runtime/providers/translate/index.js'
import { assertResponsesRequest } from '../../../../src/runtime/providers/translate/request-shape.js'
import type { ResponsesRequest } from '../../../../src/runtime/providers/translate/types.js'
import { runStream, sseEvents } from '../../../support/sse-streams.js'

const IMAGE = 'data:image/png;base64,iVBORw0KGgo='
const req = (extra: Partial<ResponsesRequest> = {}): ResponsesRequest => ({ model: 'm', input: 'hi', ...extra })
const chat = (r: ResponsesRequest) => responsesToChatRequest(r)

function refusal(fn: () => unknown): { message: string; param: string | null } {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof TranslationError, `expected a TranslationError, got ${(e as Error)?.stack}`)
    return { message: e.message, param: e.param }
  }
  assert.fail('expected a TranslationError')
}

// ---------------------------------------------------------------- request

test('a string input becomes one user message, instructions the system message before it', () => {
  const { body, dropped } = chat(req({ instructions: 'be brief', input: 'hello' }))
  assert.deepStrictEqual(body, { model: 'm', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }] })
  assert.deepStrictEqual(dropped, [])
})

test('message items of every role, with and without type, map to chat messages', () => {
  const { body } = chat(req({
    input: [
      { role: 'developer', content: 'dev rules' },
      { type: 'message', role: 'system', content: [{ type: 'input_text', text: 'sys ' }, { type: 'input_text', text: 'rules' }] },
      { role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: IMAGE, detail: 'low' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'a cat' }, { type: 'refusal', refusal: '' }] },
      { role: 'user', content: 'and?' },
    ],
  }))
  assert.deepStrictEqual(body.messages, [
    { role: 'developer', content: 'dev rules' },
    { role: 'system', content: 'sys rules' },
    { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: IMAGE, detail: 'low' } }] },
    { role: 'assistant', content: 'a cat' },
    { role: 'user', content: 'and?' },
  ])
})

test('input_file with file_data becomes a chat file part; input_audio an input_audio part', () => {
  const { body } = chat(req({
    input: [{
      role: 'user',
      content: [
        { type: 'input_file', file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' },
        { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
      ],
    }],
  }))
  assert.deepStrictEqual(body.messages[0], {
    role: 'user',
    content: [
      { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' } },
      { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
    ],
  })
})

test('function_call items join the assistant message before them; function_call_output items become tool messages', () => {
  const { body } = chat(req({
    input: [
      { role: 'user', content: 'weather in Paris and Rome?' },
      { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'two calls' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
      { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call', call_id: 'c2', name: 'weather', arguments: '{"city":"Rome"}', id: 'fc_2', status: 'completed' },
      { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
      { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'rain' }, { type: 'input_image', image_url: IMAGE }] },
      { type: 'function_call', call_id: 'c3', name: 'weather', arguments: '{}' },
    ],
  }))
  assert.deepStrictEqual(body.messages, [
    { role: 'user', content: 'weather in Paris and Rome?' },
    {
      role: 'assistant', content: 'Checking.',
      tool_calls: [
        { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
        { id: 'c2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
    { role: 'tool', tool_call_id: 'c2', content: 'rain' },
    // Chat tool messages carry text only: the returned image follows the tool messages as a user turn.
    { role: 'user', content: [{ type: 'image_url', image_url: { url: IMAGE } }] },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c3', type: 'function', function: { name: 'weather', arguments: '{}' } }] },
  ])
})

test('function tools (top-level name, parameters, strict), tool_choice and parallel_tool_calls map to chat', () => {
  const tools = [
    { type: 'function', name: 'a', description: 'A', parameters: { type: 'object', properties: {} }, strict: true },
    { type: 'function', name: 'b', parameters: null },
  ]
  const { body } = chat(req({ tools, tool_choice: { type: 'function', name: 'b' }, parallel_tool_calls: false }))
  assert.deepStrictEqual(body.tools, [
    { type: 'function', function: { name: 'a', description: 'A', parameters: { type: 'object', properties: {} }, strict: true } },
    { type: 'function', function: { name: 'b' } },
  ])
  assert.deepStrictEqual(body.tool_choice, { type: 'function', function: { name: 'b' } })
  assert.equal(body.parallel_tool_calls, false)
  for (const c of ['auto', 'none', 'required'] as const) assert.equal(chat(req({ tools, tool_choice: c })).body.tool_choice, c)
})

test('allowed_tools narrows the offered tools and keeps its mode', () => {
  const tools = [{ type: 'function', name: 'a' }, { type: 'function', name: 'b' }, { type: 'function', name: 'c' }]
  const r = chat(req({ tools, tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'c' }, { type: 'function', name: 'a' }] } }))
  assert.deepStrictEqual(r.body.tools!.map((t) => t.function.name), ['a', 'c'])
  assert.equal(r.body.tool_choice, 'required')
  assert.deepStrictEqual(r.toolOrigins, [0, 2])
})

test('sampling, limits, streaming and text.format map to their chat names', () => {
  const schema = { type: 'object', properties: { a: { type: 'string' } } }
  const { body, dropped } = chat(req({
    max_output_tokens: 77, temperature: 0.3, top_p: 0.8, stream: true, user: 'u1',
    text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } },
  }))
  assert.equal(body.max_completion_tokens, 77)
  assert.equal(body.temperature, 0.3)
  assert.equal(body.top_p, 0.8)
  assert.equal(body.stream, true)
  assert.deepStrictEqual(body.stream_options, { include_usage: true })
  assert.equal(body.user, 'u1')
  assert.deepStrictEqual(body.response_format, { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } })
  assert.deepStrictEqual(dropped, [])
  assert.deepStrictEqual(chat(req({ text: { format: { type: 'json_object' } } })).body.response_format, { type: 'json_object' })
  assert.equal(chat(req({ text: { format: { type: 'text' } } })).body.response_format, undefined)
  assert.equal(responsesToChatRequest(req({ max_output_tokens: 5 }), { maxTokensField: 'max_tokens' }).body.max_tokens, 5)
})

test('reasoning, store, metadata, include and truncation are reported as dropped, by their Responses names', () => {
  const r = req({
    reasoning: { effort: 'high', summary: 'auto' }, store: true, metadata: { k: 'v' }, include: ['reasoning.encrypted_content'],
    truncation: 'auto', top_logprobs: 2, background: false, previous_response_id: null,
  })
  const { body, dropped } = chat(r)
  assert.equal(body.reasoning_effort, 'high') // a chat-completions upstream takes it
  assert.deepStrictEqual(dropped.sort(), ['include', 'metadata', 'reasoning.summary', 'store', 'top_logprobs', 'truncation'])
  assert.deepStrictEqual(chat(req({ store: false, truncation: 'disabled', include: [] })).dropped, [])
  // Through to Anthropic, the chat-side names come back as Responses names.
  const a = createProtocolTranslator('responses', 'anthropic').request({ ...r, text: { format: { type: 'json_object' }, verbosity: 'low' } })
  for (const name of ['reasoning.effort', 'text.format', 'text.verbosity', 'store']) assert.ok(a.dropped.includes(name), `${name} in ${a.dropped}`)
  assert.ok(!a.dropped.some((d) => /response_format|reasoning_effort|max_/.test(d)), String(a.dropped))
})

test('server-side state is refused with a 400 naming the field: previous_response_id, conversation, prompt, background, item_reference', () => {
  assert.deepStrictEqual(refusal(() => chat(req({ previous_response_id: 'resp_1' }))).param, 'previous_response_id')
  assert.match(refusal(() => chat(req({ previous_response_id: 'resp_1' }))).message, /no server-side state/)
  assert.equal(refusal(() => chat(req({ conversation: 'conv_1' }))).param, 'conversation')
  assert.equal(refusal(() => chat(req({ prompt: { id: 'pmpt_1' } }))).param, 'prompt')
  assert.equal(refusal(() => chat(req({ background: true }))).param, 'background')
  assert.equal(refusal(() => chat(req({ input: [{ role: 'user', content: 'x' }, { type: 'item_reference', id: 'msg_1' }] }))).param, 'input[1]')
})

test('what no chat-style upstream can express is refused with the Responses field as param', () => {
  const cases: [Partial<ResponsesRequest>, string, RegExp][] = [
    [{ tools: [{ type: 'function', name: 'f' }, { type: 'web_search' }] }, 'tools[1]', /web_search/],
    [{ tools: [{ type: 'file_search', vector_store_ids: ['v'] }] }, 'tools[0]', /file_search/],
    [{ tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] }, 'tools[0]', /code_interpreter/],
    [{ tools: [{ type: 'computer_use_preview' }] }, 'tools[0]', /computer_use_preview/],
    [{ tool_choice: { type: 'web_search_preview' } }, 'tool_choice', /web_search_preview/],
    [{ tools: [{ type: 'function', name: 'f' }], tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'mcp', server_label: 's' }] } }, 'tool_choice.tools[0]', /function tools only/],
    [{ input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] }] }, 'input[0].content[0].file_id', /Files API/],
    [{ input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'ftp://x' }] }] }, 'input[0].content[0].image_url', /data: URL or an http/],
    [{ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }] }, 'input[0].content[0].file_id', /Files API/],
    [{ input: [{ role: 'user', content: [{ type: 'input_file', file_url: 'https://x/a.pdf' }] }] }, 'input[0].content[0].file_url', /file_url/],
    [{ input: [{ role: 'system', content: [{ type: 'input_image', image_url: IMAGE }] }] }, 'input[0].content[0]', /system message/],
    [{ input: [{ role: 'tool', content: 'x' } as never] }, 'input[0].role', /role 'tool'/],
    [{ input: [{ type: 'function_call_output', call_id: 'nope', output: 'x' }] }, 'input[0].call_id', /no earlier function_call/],
    [{ input: [{ type: 'web_search_call', id: 'ws_1', status: 'completed' }] }, 'input[0]', /web_search_call/],
    [{ text: { format: { type: 'grammar' } as never } }, 'text.format', /grammar/],
  ]
  for (const [extra, param, message] of cases) {
    const r = refusal(() => createProtocolTranslator('responses', 'anthropic').request(req(extra)))
    assert.equal(r.param, param, JSON.stringify(extra))
    assert.match(r.message, message)
  }
})

test("an upstream translator's refusal names the Responses field, not the chat one", () => {
  const input: ResponsesRequest['input'] = [
    { role: 'user', content: 'hi' },
    { role: 'user', content: [{ type: 'input_text', text: 'see' }, { type: 'input_image', image_url: 'https://example.com/cat.png' }] },
  ]
  for (const upstream of ['gemini', 'bedrock'] as const) {
    const r = refusal(() => createProtocolTranslator('responses', upstream).request(req({ instructions: 'sys', input })))
    assert.equal(r.param, 'input[1].content[1]', upstream)
    assert.match(r.message, new RegExp(`provider ${upstream}`))
  }
  // Anthropic takes http image URLs.
  const a = createProtocolTranslator('responses', 'anthropic').request(req({ input })).body as any
  assert.deepStrictEqual(a.messages[0].content.at(-1), { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } })
})

test('the shape checker names the field of a body the translators cannot read', () => {
  const cases: [unknown, string | null][] = [
    [null, null],
    [{ input: 'x' }, 'model'],
    [{ model: 'm' }, 'input'],
    [{ model: 'm', input: 5 }, 'input'],
    [{ model: 'm', input: [null] }, 'input[0]'],
    [{ model: 'm', input: [{ role: 'user', content: 5 }] }, 'input[0].content'],
    [{ model: 'm', input: [{ role: 'user', content: [{ type: 'input_text', text: 1 }] }] }, 'input[0].content[0].text'],
    [{ model: 'm', input: [{ type: 'function_call', call_id: 'c', name: null }] }, 'input[0].name'],
    [{ model: 'm', input: [{ type: 'function_call_output', call_id: 'c', output: {} }] }, 'input[0].output'],
    [{ model: 'm', input: [{ type: 5 }] }, 'input[0].type'],
    [{ model: 'm', input: 'x', tools: 'x' }, 'tools'],
    [{ model: 'm', input: 'x', tools: [{ name: 'f' }] }, 'tools[0].type'],
    [{ model: 'm', input: 'x', tool_choice: 5 }, 'tool_choice'],
    [{ model: 'm', input: 'x', text: { format: { type: 'json_schema', schema: 'x' } } }, 'text.format.schema'],
    [{ model: 'm', input: 'x', include: [1] }, 'include[0]'],
  ]
  for (const [body, param] of cases) {
    const e = refusal(() => assertResponsesRequest(body))
    assert.equal(e.param, param, JSON.stringify(body))
    assert.equal(createProtocolTranslator('responses', 'gemini').check(body)?.param, param)
  }
  assert.equal(createProtocolTranslator('responses', 'gemini').check(req()), undefined)
})

// ---------------------------------------------------------------- whole responses

const canonical = (extra: Partial<CanonicalResponse> = {}): CanonicalResponse => ({
  id: 'up_1', model: 'upstream-model', created: 1700000000, stop: 'tool_calls', reasoning: 'I should call f.',
  parts: [{ type: 'text', text: 'Let me ' }, { type: 'text', text: 'check.' }, { type: 'tool_call', id: 'call_1', name: 'f', arguments: '{"a":1}' }],
  usage: { inputTokens: 20, outputTokens: 10, cachedInputTokens: 4, reasoningTokens: 3 },
  ...extra,
})

test('a canonical turn becomes a completed Responses object: reasoning, message and function_call items, usage', () => {
  const r = toResponsesResponse(canonical(), { model: 'alias' })
  assert.match(r.id, /^resp_/)
  assert.equal(r.object, 'response')
  assert.equal(r.created_at, 1700000000)
  assert.equal(r.status, 'completed')
  assert.equal(r.incomplete_details, null)
  assert.equal(r.error, null)
  assert.equal(r.model, 'alias')
  const [rs, msg, fc] = r.output as any[]
  assert.equal(r.output.length, 3)
  assert.match(rs.id, /^rs_/)
  assert.deepStrictEqual({ ...rs, id: 'x' }, { type: 'reasoning', id: 'x', summary: [{ type: 'summary_text', text: 'I should call f.' }] })
  assert.match(msg.id, /^msg_/)
  assert.deepStrictEqual({ ...msg, id: 'x' }, {
    type: 'message', id: 'x', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Let me check.', annotations: [], logprobs: [] }],
  })
  assert.match(fc.id, /^fc_/)
  assert.deepStrictEqual({ ...fc, id: 'x' }, { type: 'function_call', id: 'x', call_id: 'call_1', name: 'f', arguments: '{"a":1}', status: 'completed' })
  assert.deepStrictEqual(r.usage, {
    input_tokens: 20, input_tokens_details: { cached_tokens: 4 }, output_tokens: 10, output_tokens_details: { reasoning_tokens: 3 }, total_tokens: 30,
  })
  assert.deepStrictEqual(usageFromResponses(r.usage), { inputTokens: 20, outputTokens: 10, cachedInputTokens: 4, reasoningTokens: 3 })
  // Defaults for the echoed request fields, and `store: false`: nothing was stored.
  assert.deepStrictEqual(
    [r.tools, r.tool_choice, r.temperature, r.top_p, r.parallel_tool_calls, r.store, r.previous_response_id, r.text, r.truncation, r.metadata],
    [[], 'auto', null, null, true, false, null, { format: { type: 'text' }, verbosity: null }, 'disabled', {}],
  )
})

test('a length stop is incomplete with reason max_output_tokens, a content filter with reason content_filter', () => {
  const long = toResponsesResponse(canonical({ stop: 'length', reasoning: undefined, parts: [{ type: 'text', text: 'cut' }] }))
  assert.equal(long.status, 'incomplete')
  assert.deepStrictEqual(long.incomplete_details, { reason: 'max_output_tokens' })
  assert.equal((long.output[0] as any).status, 'incomplete')
  const filtered = toResponsesResponse(canonical({ stop: 'content_filter', reasoning: undefined, parts: [] }))
  assert.equal(filtered.status, 'incomplete')
  assert.deepStrictEqual(filtered.incomplete_details, { reason: 'content_filter' })
  assert.deepStrictEqual(filtered.output, [])
})

test('the response object echoes the request fields it was given', () => {
  const request = {
    model: 'alias', input: 'x', instructions: 'sys', temperature: 0.2, top_p: 0.5, max_output_tokens: 9, parallel_tool_calls: false,
    tools: [{ type: 'function', name: 'f', parameters: null, strict: true }], tool_choice: 'required', user: 'u', metadata: { a: 'b' },
    text: { format: { type: 'json_object' } }, reasoning: { effort: 'low', summary: 'auto' }, store: true,
  }
  const r = toResponsesResponse(canonical(), { model: 'alias', request })
  assert.deepStrictEqual(
    [r.instructions, r.temperature, r.top_p, r.max_output_tokens, r.parallel_tool_calls, r.tools, r.tool_choice, r.user, r.metadata, r.text.format, r.reasoning, r.store],
    ['sys', 0.2, 0.5, 9, false, request.tools, 'required', 'u', { a: 'b' }, { type: 'json_object' }, { effort: 'low', summary: 'auto' }, false],
  )
})

test('each upstream answer becomes a Responses object through createProtocolTranslator', () => {
  const bodies = {
    anthropic: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', stop_reason: 'end_turn', stop_sequence: null, content: [{ type: 'thinking', thinking: 'hm', signature: 's' }, { type: 'text', text: 'Hi' }], usage: { input_tokens: 3, output_tokens: 2, cache_read_input_tokens: 1 } },
    gemini: { candidates: [{ content: { role: 'model', parts: [{ text: 'hm', thought: true }, { text: 'Hi' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 1, thoughtsTokenCount: 1 } },
    bedrock: { output: { message: { role: 'assistant', content: [{ reasoningContent: { reasoningText: { text: 'hm' } } }, { text: 'Hi' }] } }, stopReason: 'end_turn', usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5, cacheReadInputTokens: 1 } },
    openai: { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', reasoning_content: 'hm' }, finish_reason: 'stop' }], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } },
  }
  for (const [upstream, body] of Object.entries(bodies)) {
    const r = createProtocolTranslator('responses', upstream as keyof typeof bodies).response(body, { model: 'alias' }) as any
    assert.equal(r.status, 'completed', upstream)
    assert.deepStrictEqual(r.output.map((o: any) => o.type), ['reasoning', 'message'], upstream)
    assert.equal(r.output[0].summary[0].text, 'hm')
    assert.equal(r.output[1].content[0].text, 'Hi')
    assert.equal(r.usage.input_tokens, 4, upstream)
    assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens)
  }
})

// ---------------------------------------------------------------- streams

interface Assembled {
  names: string[]
  events: any[]
  final: any
  failed: any
  errors: any[]
}

/** Reads a Responses event stream the way the SDK does, checking event names, sequence numbers and indexes. */
function assemble(sse: string): Assembled {
  const r: Assembled = { names: [], events: [], final: undefined, failed: undefined, errors: [] }
  let snapshot: any
  sseEvents(sse).forEach((ev, i) => {
    const e = JSON.parse(ev.data)
    assert.equal(ev.event, e.type)
    assert.equal(e.sequence_number, i, `sequence_number of ${e.type}`)
    r.names.push(e.type)
    r.events.push(e)
    switch (e.type) {
      case 'response.created': snapshot = e.response; break
      case 'response.output_item.added':
        assert.equal(e.output_index, snapshot.output.length)
        snapshot.output.push(e.item)
        break
      case 'response.content_part.added': snapshot.output[e.output_index].content.push(e.part); break
      case 'response.output_text.delta': snapshot.output[e.output_index].content[e.content_index].text += e.delta; break
      case 'response.function_call_arguments.delta': snapshot.output[e.output_index].arguments += e.delta; break
      case 'response.output_item.done': assert.deepStrictEqual(snapshot.output[e.output_index].id, e.item.id); break
      case 'response.completed':
      case 'response.incomplete': r.final = e.response; break
      case 'response.failed': r.failed = e.response; break
      case 'error': r.errors.push(e); break
    }
  })
  if (r.final) {
    // What the deltas built is what the final response says.
    for (const [i, item] of snapshot.output.entries()) {
      if (item.type === 'message') assert.equal(item.content[0].text, r.final.output[i].content[0].text)
      if (item.type === 'function_call') assert.equal(item.arguments, r.final.output[i].arguments)
    }
  }
  return r
}

const anthropicEv = (type: string, data: object) => ({ event: type, data: JSON.stringify({ type, ...data }) })
const anthropicStream = (blocks: object[][], stop: string, outputTokens = 7) => [
  anthropicEv('message_start', { message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 11, output_tokens: 1 } } }),
  ...blocks.flat(),
  anthropicEv('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: outputTokens } }),
  anthropicEv('message_stop', {}),
]
const textBlock = (i: number, ...pieces: string[]) => [
  anthropicEv('content_block_start', { index: i, content_block: { type: 'text', text: '' } }),
  ...pieces.map((text) => anthropicEv('content_block_delta', { index: i, delta: { type: 'text_delta', text } })),
  anthropicEv('content_block_stop', { index: i }),
]
const thinkingBlock = (i: number, ...pieces: string[]) => [
  anthropicEv('content_block_start', { index: i, content_block: { type: 'thinking', thinking: '' } }),
  ...pieces.map((thinking) => anthropicEv('content_block_delta', { index: i, delta: { type: 'thinking_delta', thinking } })),
  anthropicEv('content_block_delta', { index: i, delta: { type: 'signature_delta', signature: 'sig' } }),
  anthropicEv('content_block_stop', { index: i }),
]
const toolBlock = (i: number, id: string, ...pieces: string[]) => [
  anthropicEv('content_block_start', { index: i, content_block: { type: 'tool_use', id, name: 'f', input: {} } }),
  ...pieces.map((partial_json) => anthropicEv('content_block_delta', { index: i, delta: { type: 'input_json_delta', partial_json } })),
  anthropicEv('content_block_stop', { index: i }),
]

test('a streamed text turn follows OpenAI event order and ends in response.completed with usage', () => {
  const st = createProtocolTranslator('responses', 'anthropic').stream({ model: 'alias' })
  const r = assemble(runStream(st, anthropicStream([textBlock(0, 'Hel', 'lo ✓')], 'end_turn')))
  assert.deepStrictEqual(r.names, [
    'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
    'response.output_text.delta', 'response.output_text.delta', 'response.output_text.done', 'response.content_part.done',
    'response.output_item.done', 'response.completed',
  ])
  assert.equal(r.events[0].response.status, 'in_progress')
  assert.equal(r.events[0].response.usage, null)
  assert.equal(r.final.status, 'completed')
  assert.equal(r.final.model, 'alias')
  assert.equal(r.final.id, r.events[0].response.id)
  assert.deepStrictEqual(r.final.output[0].content, [{ type: 'output_text', text: 'Hello ✓', annotations: [], logprobs: [] }])
  assert.equal(r.events[6].text, 'Hello ✓')
  assert.deepStrictEqual(r.final.usage, { input_tokens: 11, input_tokens_details: { cached_tokens: 0 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 18 })
  assert.deepStrictEqual(st.usage(), { inputTokens: 11, outputTokens: 7 })
  assert.equal(st.failure(), undefined)
})

test('thinking streams as a reasoning item with summary events, then text and a function call', () => {
  const st = createProtocolTranslator('responses', 'anthropic').stream({ model: 'alias' })
  const r = assemble(runStream(st, anthropicStream([thinkingBlock(0, 'Need ', 'a tool.'), textBlock(1, 'Calling.'), toolBlock(2, 'toolu_1', '{"a"', ':1}')], 'tool_use')))
  assert.deepStrictEqual(r.names.slice(2, 8), [
    'response.output_item.added', 'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta',
    'response.reasoning_summary_text.delta', 'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done',
  ])
  assert.deepStrictEqual(r.names.slice(-6), [
    'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.delta',
    'response.function_call_arguments.done', 'response.output_item.done', 'response.completed',
  ])
  assert.deepStrictEqual(r.final.output.map((o: any) => o.type), ['reasoning', 'message', 'function_call'])
  assert.deepStrictEqual(r.final.output[0].summary, [{ type: 'summary_text', text: 'Need a tool.' }])
  const fc = r.final.output[2]
  assert.deepStrictEqual([fc.call_id, fc.name, fc.arguments, fc.status], ['toolu_1', 'f', '{"a":1}', 'completed'])
  const done = r.events.find((e) => e.type === 'response.function_call_arguments.done')
  assert.deepStrictEqual([done.item_id, done.output_index, done.name, done.arguments], [fc.id, 2, 'f', '{"a":1}'])
})

test('interleaved tool calls from an OpenAI upstream stream one at a time: the second waits and is sent whole', () => {
  const chunk = (delta: object, finish: string | null = null) => ({ data: JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt', choices: [{ index: 0, delta, finish_reason: finish }] }) })
  const events = [
    chunk({ role: 'assistant', content: null }),
    chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '{"x"' } }] }),
    chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{"y"' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }),
    chunk({ tool_calls: [{ index: 1, function: { arguments: ':2}' } }] }),
    chunk({}, 'tool_calls'),
    { data: JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt', choices: [], usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 } }) },
    { data: '[DONE]' },
  ]
  const r = assemble(runStream(createProtocolTranslator('responses', 'openai').stream({}), events))
  const added = r.events.filter((e) => e.type === 'response.output_item.added')
  const done = r.events.filter((e) => e.type === 'response.output_item.done')
  // Item 1 is added only after item 0 is done.
  assert.ok(r.events.indexOf(added[1]) > r.events.indexOf(done[0]))
  assert.deepStrictEqual(r.final.output.map((o: any) => [o.call_id, o.arguments]), [['call_a', '{"x":1}'], ['call_b', '{"y":2}']])
  assert.equal(r.final.usage.total_tokens, 11)
  assert.equal(r.final.model, 'gpt')
})

test('text that arrives while a tool call streams waits for it: items stay sequential and nothing is lost', () => {
  const w = new ResponsesSseWriter({ model: 'm' })
  w.start({})
  w.toolStart(0, 'call_a', 'a')
  w.toolArgs(0, '{"x"')
  w.text('by the way')
  w.reasoning('hm')
  w.toolArgs(0, ':1}')
  w.finish('tool_calls')
  w.close()
  const r = assemble(w.take())
  assert.deepStrictEqual(r.final.output.map((o: any) => o.type), ['function_call', 'message', 'reasoning'])
  assert.equal(r.final.output[0].arguments, '{"x":1}')
  assert.equal(r.final.output[1].content[0].text, 'by the way')
  const added = r.events.filter((e) => e.type === 'response.output_item.added').map((e) => r.events.indexOf(e))
  const done = r.events.filter((e) => e.type === 'response.output_item.done').map((e) => r.events.indexOf(e))
  for (let i = 1; i < added.length; i++) assert.ok(added[i]! > done[i - 1]!, 'each item is done before the next is added')
})

test('a length stop ends in response.incomplete, the message item incomplete too', () => {
  const r = assemble(runStream(createProtocolTranslator('responses', 'anthropic').stream({}), anthropicStream([textBlock(0, 'cut')], 'max_tokens')))
  assert.equal(r.names.at(-1), 'response.incomplete')
  assert.equal(r.final.status, 'incomplete')
  assert.deepStrictEqual(r.final.incomplete_details, { reason: 'max_output_tokens' })
  assert.equal(r.final.output[0].status, 'incomplete')
})

test('an upstream error mid-stream becomes response.failed, then an error event with flat and nested fields', () => {
  const st = createProtocolTranslator('responses', 'anthropic').stream({})
  const events = [
    anthropicEv('message_start', { message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 3, output_tokens: 1 } } }),
    anthropicEv('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    anthropicEv('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'par' } }),
    anthropicEv('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
  ]
  const r = assemble(runStream(st, events))
  assert.deepStrictEqual(r.names.slice(-2), ['response.failed', 'error'])
  assert.equal(r.failed.status, 'failed')
  assert.deepStrictEqual(r.failed.error, { code: 'server_error', message: 'Overloaded' })
  assert.equal(r.failed.output[0].status, 'incomplete')
  assert.deepStrictEqual(r.errors[0], {
    type: 'error', sequence_number: r.events.length - 1, code: 'server_error', message: 'Overloaded', param: null,
    error: { type: 'server_error', code: 'server_error', message: 'Overloaded', param: null },
  })
  assert.deepStrictEqual(st.failure(), { status: 529, message: 'Overloaded' })
  assert.equal(st.substantive(), true)
})

test('a stream that ends before a stop reason fails; one that only opened is not substantive', () => {
  const st = createProtocolTranslator('responses', 'gemini').stream({})
  const text = runStream(st, [])
  const r = assemble(text)
  assert.deepStrictEqual(r.names, ['response.created', 'response.in_progress', 'response.failed', 'error'])
  assert.equal(st.failure()?.status, 502)
  assert.equal(st.substantive(), false)
  const w = new ResponsesSseWriter({ model: 'm' })
  w.start({})
  assert.equal(w.substantive, false)
  w.error({ status: 429, message: 'slow down' })
  const e = assemble(w.take())
  assert.equal(e.failed.error.code, 'rate_limit_exceeded')
  assert.equal(e.errors[0].error.type, 'rate_limit_error')
})

test('Gemini and Bedrock streams translate too (thought parts and reasoning deltas become the reasoning item)', () => {
  const gemini = [
    { data: JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'think', thought: true }] } }], usageMetadata: { promptTokenCount: 2 } }) },
    { data: JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'Hi' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 2, candidatesTokenCount: 1, thoughtsTokenCount: 1 } }) },
  ]
  const g = assemble(runStream(createProtocolTranslator('responses', 'gemini').stream({ model: 'alias' }), gemini))
  assert.deepStrictEqual(g.final.output.map((o: any) => o.type), ['reasoning', 'message'])
  assert.equal(g.final.usage.output_tokens_details.reasoning_tokens, 1)
  const bedrock = [
    { type: 'messageStart', body: { role: 'assistant' } },
    { type: 'contentBlockDelta', body: { contentBlockIndex: 0, delta: { reasoningContent: { text: 'think' } } } },
    { type: 'contentBlockDelta', body: { contentBlockIndex: 1, delta: { text: 'Hi' } } },
    { type: 'messageStop', body: { stopReason: 'end_turn' } },
    { type: 'metadata', body: { usage: { inputTokens: 2, outputTokens: 2, totalTokens: 4 } } },
  ]
  const bt = createProtocolTranslator('responses', 'bedrock').stream({ model: 'alias' })
  let out = ''
  for (const ev of bedrock) out += (bt.push as (e: unknown) => string)(ev)
  const b = assemble(out + bt.end())
  assert.deepStrictEqual(b.final.output.map((o: any) => o.type), ['reasoning', 'message'])
  assert.equal(b.final.usage.total_tokens, 4)
})

// ---------------------------------------------------------------- errors

test('upstream errors answer in OpenAI error JSON, with Responses field names', () => {
  const t = createProtocolTranslator('responses', 'anthropic')
  const limited = t.error(429, { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }, { 'retry-after': '7' })
  assert.deepStrictEqual(limited, { status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'slow down', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } } })
  const long: any = t.error(400, { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 300000 tokens > 200000 maximum' } })
  assert.equal(long.body.error.param, 'input')
  assert.equal(long.body.error.code, 'context_length_exceeded')
  const o: any = createProtocolTranslator('responses', 'openai').error(400, { error: { message: 'bad', type: 'invalid_request_error', param: 'max_completion_tokens', code: null } })
  assert.equal(o.body.error.param, 'max_output_tokens')
})
