/**
 * Captured message content (tracing.capture_content): the GenAI message shapes from OpenAI,
 * Anthropic and Responses bodies (one shape for all), redaction of configured secrets and
 * credential-shaped strings before anything is serialized, the byte cap with valid JSON, and the
 * answer assembled from whole bodies and streams by the hub's readers — none from a stream that
 * never finished.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { boundedJson, ContentFormatter } from '../../../../src/runtime/telemetry/tracing/content-capture.js'
import { AnswerCapture } from '../../../../src/runtime/telemetry/tracing/answer-capture.js'
import { createScrubber } from '../../../../src/runtime/upstream/scrub.js'
import type { RequestContext } from '../../../../src/runtime/types.js'
import { sseEvents } from '../../../support/sse-streams.js'

const SECRET = 'cfg-secret-value-91f2'
const formatter = new ContentFormatter(createScrubber([SECRET], { credentialShapes: true }), [SECRET])

const ctxOf = (path: string, json: unknown) => ({ head: { path }, json }) as unknown as RequestContext

test('OpenAI and Anthropic callers give the same system instructions and messages', () => {
  const openai = formatter.format(ctxOf('/v1/chat/completions', {
    model: 'm', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi there' }, { role: 'assistant', content: 'Hello' }, { role: 'user', content: 'Weather?' }],
  }), undefined, 8192)
  const anthropic = formatter.format(ctxOf('/v1/messages', {
    model: 'm', max_tokens: 10, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi there' }, { role: 'assistant', content: [{ type: 'text', text: 'Hello' }] }, { role: 'user', content: 'Weather?' }],
  }), undefined, 8192)
  assert.deepEqual(JSON.parse(openai.systemInstructions!), [{ type: 'text', content: 'Be brief.' }])
  assert.deepEqual(JSON.parse(openai.inputMessages!), [
    { role: 'user', parts: [{ type: 'text', content: 'Hi there' }] },
    { role: 'assistant', parts: [{ type: 'text', content: 'Hello' }] },
    { role: 'user', parts: [{ type: 'text', content: 'Weather?' }] },
  ])
  assert.equal(anthropic.systemInstructions, openai.systemInstructions)
  assert.equal(anthropic.inputMessages, openai.inputMessages)
  assert.equal(openai.outputMessages, undefined)
})

test('tool calls and tool results follow the conventions; media is recorded by kind only', () => {
  const c = formatter.format(ctxOf('/v1/chat/completions', {
    model: 'm', messages: [
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'rainy' },
    ],
  }), undefined, 8192)
  assert.equal(c.systemInstructions, undefined)
  assert.deepEqual(JSON.parse(c.inputMessages!), [
    { role: 'user', parts: [{ type: 'text', content: 'look' }, { type: 'image' }] },
    { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: { location: 'Paris' } }] },
    { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', result: 'rainy' }] },
  ])
  assert.ok(!c.inputMessages!.includes('AAAA'))
})

test('a Responses body is read through the hub as well', () => {
  const c = formatter.format(ctxOf('/v1/responses', { model: 'm', instructions: 'Be kind.', input: 'Hello' }), undefined, 8192)
  assert.deepEqual(JSON.parse(c.systemInstructions!), [{ type: 'text', content: 'Be kind.' }])
  assert.deepEqual(JSON.parse(c.inputMessages!), [{ role: 'user', parts: [{ type: 'text', content: 'Hello' }] }])
})

test('configured secrets, API keys, bearer tokens and JWTs are redacted before serialization', () => {
  const prompt = `use ${SECRET} and sk-proj-abcdefghijklmnop1234 with Bearer abc.def-123456789 or eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N and sy-k7f2m9q4x1ab_Vq3aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaZc01aB`
  const c = formatter.format(ctxOf('/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: prompt }] }), undefined, 8192)
  const text = JSON.parse(c.inputMessages!)[0].parts[0].content
  assert.equal(text, 'use [redacted] and [redacted] with Bearer [redacted] or [redacted] and [redacted]')
  // Ordinary words that merely start like a key stay.
  const plain = formatter.format(ctxOf('/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'sk-learn and the bearer of news' }] }), undefined, 8192)
  assert.equal(JSON.parse(plain.inputMessages!)[0].parts[0].content, 'sk-learn and the bearer of news')
})

test('a secret on the cut line is still redacted whole (redaction before truncation)', () => {
  const long = 'x'.repeat(300) + SECRET + 'y'.repeat(5000)
  const c = formatter.format(ctxOf('/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: long }] }), undefined, 310)
  assert.ok(Buffer.byteLength(c.inputMessages!) <= 310)
  assert.ok(!c.inputMessages!.includes(SECRET.slice(0, 6)), c.inputMessages)
  assert.ok(c.inputMessages!.includes('…[truncated]'))
})

test('boundedJson: whole when it fits, else cut within the cap and still valid JSON', () => {
  const small = [{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }]
  assert.equal(boundedJson(small, 256), JSON.stringify(small))
  for (const cap of [256, 300, 1000, 4096]) {
    const items = Array.from({ length: 20 }, (_, i) => ({ role: 'user', parts: [{ type: 'text', content: `message ${i} ` + 'é'.repeat(200) + '😀'.repeat(50) }] }))
    const out = boundedJson(items, cap)
    assert.ok(Buffer.byteLength(out) <= cap, `${Buffer.byteLength(out)} > ${cap}`)
    const parsed = JSON.parse(out)
    assert.ok(parsed.length >= 1 && parsed.length < 20)
    assert.equal(parsed[0].role, 'user')
    assert.ok(parsed[parsed.length - 1].parts[0].content.endsWith('…[truncated]'))
    assert.ok(!out.includes('\\ud8'), 'no lone surrogate')
  }
  // An oversized first item is cut, not dropped.
  const one = boundedJson([{ role: 'user', parts: [{ type: 'text', content: 'z'.repeat(100_000) }] }], 8192)
  assert.ok(Buffer.byteLength(one) <= 8192 && Buffer.byteLength(one) > 8000)
  assert.match(JSON.parse(one)[0].parts[0].content, /^z+…\[truncated\]$/)
})

test('an OpenAI stream is assembled by the hub reader: text, tool calls, finish', () => {
  const a = new AnswerCapture(10_000)
  const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
  const sse = chunk({ role: 'assistant', content: '' }) + chunk({ content: 'Hel' }) + chunk({ content: 'lo' }) +
    chunk({ tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }) +
    chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }) + chunk({}, 'tool_calls') + 'data: [DONE]\n\n'
  for (const ev of sseEvents(sse)) a.event('openai', ev)
  assert.equal(a.complete, true)
  const out = formatter.format(ctxOf('/v1/chat/completions', { model: 'm', messages: [] }), a, 8192)
  assert.deepEqual(JSON.parse(out.outputMessages!), [{ role: 'assistant', parts: [{ type: 'text', content: 'Hello' }, { type: 'tool_call', id: 'call_9', name: 'f', arguments: { a: 1 } }], finish_reason: 'tool_call' }])
})

test('an Anthropic stream and a whole Anthropic answer give the same output', () => {
  const events = [
    { type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 3, output_tokens: 0 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi ' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'you' } },
    { type: 'content_block_stop', index: 0 },
    { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } },
    { type: 'message_stop' },
  ]
  const streamed = new AnswerCapture(10_000)
  for (const e of events) streamed.event('anthropic', e)
  const whole = new AnswerCapture(10_000)
  whole.whole('anthropic', { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [{ type: 'text', text: 'Hi you' }], stop_reason: 'end_turn', usage: { input_tokens: 3, output_tokens: 2 } })
  const ctx = ctxOf('/v1/messages', { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
  const a = formatter.format(ctx, streamed, 8192).outputMessages
  assert.deepEqual(JSON.parse(a!), [{ role: 'assistant', parts: [{ type: 'text', content: 'Hi you' }], finish_reason: 'stop' }])
  assert.equal(formatter.format(ctx, whole, 8192).outputMessages, a)
})

test('a stream that never finished has no output; a long one keeps only its limit', () => {
  const a = new AnswerCapture(10_000)
  for (const ev of sseEvents(`data: ${JSON.stringify({ id: 'c', model: 'm', choices: [{ index: 0, delta: { content: 'partial' }, finish_reason: null }] })}\n\n`)) a.event('openai', ev)
  assert.equal(a.complete, false)
  assert.equal(formatter.format(ctxOf('/v1/chat/completions', { model: 'm', messages: [] }), a, 8192).outputMessages, undefined)

  const b = new AnswerCapture(1000)
  for (let i = 0; i < 100; i++) b.event('openai', { id: 'c', model: 'm', choices: [{ index: 0, delta: { content: 'abcdefghij'.repeat(10) }, finish_reason: null }] })
  b.event('openai', { id: 'c', model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'length' }] })
  assert.equal(b.text.length, 1000)
  const out = JSON.parse(formatter.format(ctxOf('/v1/chat/completions', { model: 'm', messages: [] }), b, 512).outputMessages!)
  assert.equal(out[0].finish_reason, 'length')
  assert.match(out[0].parts[0].content, /…\[truncated\]$/)
})

test('an unreadable event or answer marks the capture failed instead of throwing', () => {
  const a = new AnswerCapture(100)
  a.event('openai', { data: 'not json' })
  a.whole('openai', null)
  assert.equal(a.complete, false)
})

/** A Responses API stream as an OpenAI upstream sends it: text deltas, one function call, the terminal event. */
function responsesEvents(terminal: object): object[] {
  const created = { id: 'resp_1', object: 'response', status: 'in_progress', model: 'gpt-4o', output: [] }
  return [
    { type: 'response.created', response: created },
    { type: 'response.in_progress', response: created },
    { type: 'response.output_item.added', output_index: 0, item: { type: 'message', id: 'msg_1', role: 'assistant', status: 'in_progress', content: [] } },
    { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hel' },
    { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'lo' },
    { type: 'response.output_item.added', output_index: 1, item: { type: 'function_call', id: 'fc_1', call_id: 'call_7', name: 'f', arguments: '', status: 'in_progress' } },
    { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 1, delta: '{"a":' },
    { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 1, delta: '1}' },
    { type: 'response.output_item.done', output_index: 1, item: { type: 'function_call', id: 'fc_1', call_id: 'call_7', name: 'f', arguments: '{"a":1}', status: 'completed' } },
    terminal,
  ]
}
const RESPONSES_OUTPUT = [
  { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello', annotations: [] }] },
  { type: 'function_call', id: 'fc_1', call_id: 'call_7', name: 'f', arguments: '{"a":1}', status: 'completed' },
]
const responsesCtx = ctxOf('/v1/responses', { model: 'm', input: 'x' })

test('a Responses answer (an OpenAI upstream in pass-through), whole or streamed, gives the same output', () => {
  const whole = new AnswerCapture(10_000)
  whole.whole('responses', { id: 'resp_1', object: 'response', status: 'completed', model: 'gpt-4o', output: RESPONSES_OUTPUT, usage: { input_tokens: 3, output_tokens: 4 } })
  assert.equal(whole.complete, true)
  const expected = [{ role: 'assistant', parts: [{ type: 'text', content: 'Hello' }, { type: 'tool_call', id: 'call_7', name: 'f', arguments: { a: 1 } }], finish_reason: 'tool_call' }]
  assert.deepEqual(JSON.parse(formatter.format(responsesCtx, whole, 8192).outputMessages!), expected)

  // As SSE events (the tap's decoded path) and as decoded data (its scanned path).
  const terminal = { type: 'response.completed', response: { id: 'resp_1', status: 'completed', model: 'gpt-4o', output: RESPONSES_OUTPUT } }
  const sse = responsesEvents(terminal).map((e: any) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('')
  const streamed = new AnswerCapture(10_000)
  for (const ev of sseEvents(sse)) streamed.event('responses', ev)
  assert.equal(streamed.complete, true)
  assert.deepEqual(JSON.parse(formatter.format(responsesCtx, streamed, 8192).outputMessages!), expected, 'deltas assembled, not doubled by the final object')
  const decoded = new AnswerCapture(10_000)
  for (const e of responsesEvents(terminal)) decoded.event('responses', e)
  assert.equal(formatter.format(responsesCtx, decoded, 8192).outputMessages, formatter.format(responsesCtx, streamed, 8192).outputMessages)
})

test('a Responses stream: an incomplete response is a length stop; a stream without deltas is read from its final object', () => {
  const cut = new AnswerCapture(10_000)
  for (const e of responsesEvents({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [] } }).filter((e: any) => !e.type.startsWith('response.output_item') && !e.type.startsWith('response.function'))) cut.event('responses', e)
  assert.deepEqual(JSON.parse(formatter.format(responsesCtx, cut, 8192).outputMessages!), [{ role: 'assistant', parts: [{ type: 'text', content: 'Hello' }], finish_reason: 'length' }])

  const bare = new AnswerCapture(10_000)
  bare.event('responses', { type: 'response.created', response: { id: 'r', model: 'm' } })
  bare.event('responses', { type: 'response.completed', response: { status: 'completed', output: [RESPONSES_OUTPUT[0]] } })
  assert.deepEqual(JSON.parse(formatter.format(responsesCtx, bare, 8192).outputMessages!), [{ role: 'assistant', parts: [{ type: 'text', content: 'Hello' }], finish_reason: 'stop' }])
})

test('a failed Responses stream records no output', () => {
  for (const end of [{ type: 'response.failed', response: { status: 'failed', error: { code: 'server_error', message: 'boom' } } }, { type: 'error', code: 'server_error', message: 'boom' }]) {
    const a = new AnswerCapture(10_000)
    for (const e of responsesEvents(end)) a.event('responses', e)
    assert.equal(a.complete, false, end.type)
    assert.equal(formatter.format(responsesCtx, a, 8192).outputMessages, undefined)
  }
})

const chatCtx = ctxOf('/v1/chat/completions', { model: 'm', n: 2, messages: [] })

test('n = 2: one output message per choice, in index order, each with its index and finish_reason (whole answer)', () => {
  const a = new AnswerCapture(10_000)
  a.whole('openai', {
    id: 'c', object: 'chat.completion', created: 1, model: 'm',
    choices: [
      { index: 1, message: { role: 'assistant', content: 'second' }, finish_reason: 'length' },
      { index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls' },
    ],
  })
  assert.equal(a.complete, true)
  assert.deepEqual(JSON.parse(formatter.format(chatCtx, a, 8192).outputMessages!), [
    { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'f', arguments: {} }], finish_reason: 'tool_call', index: 0 },
    { role: 'assistant', parts: [{ type: 'text', content: 'second' }], finish_reason: 'length', index: 1 },
  ])
})

test('n = 2: a stream interleaving both choices is split by index; a choice that never finished means no output', () => {
  const chunk = (choices: object[]) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices })}\n\n`
  const opening = chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }, { index: 1, delta: { role: 'assistant', content: '' }, finish_reason: null }])
  const body = opening + chunk([{ index: 1, delta: { content: 'B1 ' }, finish_reason: null }]) + chunk([{ index: 0, delta: { content: 'A1 ' }, finish_reason: null }]) +
    chunk([{ index: 0, delta: { content: 'A2' }, finish_reason: null }, { index: 1, delta: { content: 'B2' }, finish_reason: null }]) +
    chunk([{ index: 0, delta: {}, finish_reason: 'stop' }])
  const whole = new AnswerCapture(10_000)
  for (const ev of sseEvents(body + chunk([{ index: 1, delta: {}, finish_reason: 'length' }]) + 'data: [DONE]\n\n')) whole.event('openai', ev)
  assert.equal(whole.complete, true)
  assert.deepEqual(JSON.parse(formatter.format(chatCtx, whole, 8192).outputMessages!), [
    { role: 'assistant', parts: [{ type: 'text', content: 'A1 A2' }], finish_reason: 'stop', index: 0 },
    { role: 'assistant', parts: [{ type: 'text', content: 'B1 B2' }], finish_reason: 'length', index: 1 },
  ])

  const cut = new AnswerCapture(10_000)
  for (const ev of sseEvents(body)) cut.event('openai', ev)
  assert.equal(cut.complete, false, 'choice 1 never finished')
  assert.equal(formatter.format(chatCtx, cut, 8192).outputMessages, undefined)
})

test('n = 2: the kept-text limit is shared by all choices', () => {
  const a = new AnswerCapture(10)
  a.whole('openai', { choices: [{ index: 0, message: { content: 'aaaaaaaa' }, finish_reason: 'stop' }, { index: 1, message: { content: 'bbbbbbbb' }, finish_reason: 'stop' }] })
  assert.equal(a.choices[0].text + a.choices[1].text, 'aaaaaaaabb')
})
