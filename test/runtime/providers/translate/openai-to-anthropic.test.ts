// OpenAI caller, Anthropic upstream: request out, response and stream back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openAIToAnthropicRequest } from '../../../../src/runtime/providers/translate/openai-request-to-anthropic.js'
import { anthropicResponseToOpenAI, createAnthropicToOpenAIStreamTranslator } from '../../../../src/runtime/providers/translate/index.js'
import { TranslationError } from '../../../../src/runtime/providers/translate/translation-error.js'
import type { OpenAIChatRequest } from '../../../../src/runtime/providers/translate/types.js'
import { assembleOpenAI, runStream, sseEvents } from '../../../support/sse-streams.js'
import { fixture, fixtureJson } from '../../../support/fixtures.js'

const base = (extra: Partial<OpenAIChatRequest> = {}): OpenAIChatRequest => ({
  model: 'claude-sonnet-4-5',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
})

test('a full OpenAI request with tools, images and tool results becomes an Anthropic request', () => {
  const { body, dropped } = openAIToAnthropicRequest(fixtureJson('openai/chat-request-tools.json'))
  assert.deepStrictEqual(body, {
    model: 'gpt-4o',
    max_tokens: 500,
    system: [
      { type: 'text', text: 'You are a helpful assistant.' },
      { type: 'text', text: 'Answer briefly.' },
    ],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: "What's the weather like in Boston today? Also, what is in this image?" },
          { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQSkZJRg==' } },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'call_abc123', name: 'get_current_weather', input: { location: 'Boston, MA' } }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_abc123', content: '{"temperature":22,"unit":"celsius"}' },
          { type: 'text', text: 'Thanks. And tomorrow?' },
        ],
      },
    ],
    temperature: 0.7,
    stop_sequences: ['END'],
    tools: [
      {
        name: 'get_current_weather',
        description: 'Get the current weather in a given location',
        input_schema: {
          type: 'object',
          properties: {
            location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
            unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
          },
          required: ['location'],
          additionalProperties: false,
        },
      },
    ],
    tool_choice: { type: 'auto' },
    metadata: { user_id: 'user-1234' },
    stream: true,
  })
  assert.deepStrictEqual(dropped, ['seed', 'logit_bias'])
})

test('an http image URL becomes an Anthropic url image source', () => {
  const { body } = openAIToAnthropicRequest(base({
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }],
  }))
  assert.deepStrictEqual(body.messages[0]!.content, [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } }])
})

test('max_tokens defaults when the caller sets neither limit', () => {
  assert.equal(openAIToAnthropicRequest(base()).body.max_tokens, 4096)
  assert.equal(openAIToAnthropicRequest(base(), { defaultMaxTokens: 100 }).body.max_tokens, 100)
  assert.equal(openAIToAnthropicRequest(base({ max_tokens: 77 })).body.max_tokens, 77)
})

test('tool_choice required with parallel_tool_calls false becomes any without parallel use', () => {
  const { body } = openAIToAnthropicRequest(base({
    tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'required', parallel_tool_calls: false,
  }))
  assert.deepStrictEqual(body.tool_choice, { type: 'any', disable_parallel_tool_use: true })
  assert.deepStrictEqual(body.tools, [{ name: 'f', input_schema: { type: 'object', properties: {} } }])
})

test('a named tool_choice and none are mapped', () => {
  const tools = [{ type: 'function' as const, function: { name: 'f' } }]
  assert.deepStrictEqual(openAIToAnthropicRequest(base({ tools, tool_choice: { type: 'function', function: { name: 'f' } } })).body.tool_choice, { type: 'tool', name: 'f' })
  assert.deepStrictEqual(openAIToAnthropicRequest(base({ tools, tool_choice: 'none' })).body.tool_choice, { type: 'none' })
})

test('temperature above Anthropic range is clamped to 1', () => {
  assert.equal(openAIToAnthropicRequest(base({ temperature: 1.6 })).body.temperature, 1)
})

test('response_format json_schema is reported as dropped while text is not', () => {
  const schema = { type: 'json_schema' as const, json_schema: { name: 'x', schema: {} } }
  assert.deepStrictEqual(openAIToAnthropicRequest(base({ response_format: schema })).dropped, ['response_format'])
  assert.deepStrictEqual(openAIToAnthropicRequest(base({ response_format: { type: 'text' } })).dropped, [])
})

test('n greater than 1 is rejected with the param named', () => {
  assert.throws(() => openAIToAnthropicRequest(base({ n: 2 })), (e: unknown) => e instanceof TranslationError && e.param === 'n')
})

test('audio input is rejected because Anthropic cannot take it', () => {
  assert.throws(
    () => openAIToAnthropicRequest(base({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAA', format: 'wav' } }] }] })),
    (e: unknown) => e instanceof TranslationError && e.param === 'messages[0].content[0]',
  )
})

test('invalid tool-call arguments in history are kept instead of failing the request', () => {
  const { body } = openAIToAnthropicRequest(base({
    messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }],
  }))
  assert.deepStrictEqual(body.messages[0]!.content, [{ type: 'tool_use', id: 'c', name: 'f', input: { _raw_arguments: '{oops' } }])
})

test('an Anthropic text response becomes a chat.completion with stop and usage', () => {
  const out = anthropicResponseToOpenAI(fixtureJson('anthropic/messages-response-text.json'), { model: 'my-alias' })
  assert.equal(out.object, 'chat.completion')
  assert.equal(out.id, 'chatcmpl-msg_013Zva2CMHLNnXjNJJKqJ2EF')
  assert.equal(out.model, 'my-alias')
  assert.deepStrictEqual(out.choices, [{ index: 0, message: { role: 'assistant', content: 'Hi! My name is Claude.', refusal: null }, finish_reason: 'stop', logprobs: null }])
  assert.deepStrictEqual(out.usage, {
    prompt_tokens: 2095, completion_tokens: 503, total_tokens: 2598,
    prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 },
  })
})

test('an Anthropic tool_use response becomes tool_calls with cache reads counted as cached prompt tokens', () => {
  const out = anthropicResponseToOpenAI(fixtureJson('anthropic/messages-response-tool-use.json'))
  const choice = out.choices[0]!
  assert.equal(choice.finish_reason, 'tool_calls')
  assert.equal(choice.message.content, "I'll check the current weather in San Francisco for you.")
  assert.deepStrictEqual(choice.message.tool_calls, [
    { id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' } },
  ])
  assert.equal(out.usage!.prompt_tokens, 384 + 100 + 16)
  assert.equal(out.usage!.prompt_tokens_details!.cached_tokens, 100)
})

test('a streamed Anthropic text turn becomes OpenAI chunks ending in usage and [DONE]', () => {
  const t = createAnthropicToOpenAIStreamTranslator({ includeUsage: true, created: 1 })
  const out = runStream(t, sseEvents(fixture('anthropic/stream-text.sse')))
  const a = assembleOpenAI(out)
  assert.equal(a.role, 'assistant')
  assert.equal(a.content, 'Hello!')
  assert.equal(a.finish, 'stop')
  assert.equal(a.done, true)
  assert.equal(a.usage.prompt_tokens, 25)
  assert.equal(a.usage.completion_tokens, 15)
  assert.ok(a.chunks.slice(0, -1).every((c) => c.usage === null && c.choices.length === 1))
  assert.deepStrictEqual(a.chunks.at(-1)!.choices, [])
  assert.ok(a.chunks.every((c) => c.id === 'chatcmpl-msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY' && c.created === 1 && c.object === 'chat.completion.chunk'))
  assert.deepStrictEqual(t.usage(), { inputTokens: 25, outputTokens: 15 })
})

test('without include_usage no usage chunk or usage field is sent', () => {
  const a = assembleOpenAI(runStream(createAnthropicToOpenAIStreamTranslator(), sseEvents(fixture('anthropic/stream-text.sse'))))
  assert.equal(a.usage, undefined)
  assert.ok(a.chunks.every((c) => !('usage' in c) && c.choices.length === 1))
})

test('a streamed Anthropic tool call becomes OpenAI tool_call deltas with index 0', () => {
  const out = runStream(createAnthropicToOpenAIStreamTranslator({ includeUsage: true }), sseEvents(fixture('anthropic/stream-tool-use.sse')))
  const a = assembleOpenAI(out)
  assert.equal(a.content, "Okay, let's check the weather for San Francisco, CA:")
  assert.deepStrictEqual(a.toolCalls, [{ id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', arguments: '{"location": "San Francisco, CA", "unit": "fahrenheit"}' }])
  assert.equal(a.finish, 'tool_calls')
  assert.equal(a.usage.prompt_tokens, 572)
  assert.equal(a.usage.prompt_tokens_details.cached_tokens, 100)
})

test('the stream output is identical when the upstream bytes arrive one at a time', () => {
  const whole = runStream(createAnthropicToOpenAIStreamTranslator({ created: 5, id: 'x' }), sseEvents(fixture('anthropic/stream-tool-use.sse')))
  const bytewise = runStream(createAnthropicToOpenAIStreamTranslator({ created: 5, id: 'x' }), sseEvents(fixture('anthropic/stream-tool-use.sse'), 1))
  assert.equal(bytewise, whole)
})

test('empty text and empty json deltas produce no chunks', () => {
  const t = createAnthropicToOpenAIStreamTranslator()
  t.push({ event: 'message_start', data: JSON.stringify({ type: 'message_start', message: { id: 'm', model: 'c', usage: { input_tokens: 1, output_tokens: 0 } } }) })
  assert.equal(t.push({ event: 'content_block_start', data: '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}' }), '')
  assert.equal(t.push({ event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}}' }), '')
  assert.equal(t.push({ event: 'ping', data: '{"type":"ping"}' }), '')
})

test('an upstream error event becomes an OpenAI error frame and no [DONE]', () => {
  const a = assembleOpenAI(runStream(createAnthropicToOpenAIStreamTranslator(), sseEvents(fixture('anthropic/stream-error.sse'))))
  assert.deepStrictEqual(a.errors, [{ message: 'Overloaded', type: 'server_error', param: null, code: null }])
  assert.equal(a.done, false)
})

test('a stream cut off before the stop reason ends with an error instead of [DONE]', () => {
  const events = sseEvents(fixture('anthropic/stream-text.sse')).slice(0, 4)
  const a = assembleOpenAI(runStream(createAnthropicToOpenAIStreamTranslator(), events))
  assert.equal(a.content, 'Hello')
  assert.equal(a.done, false)
  assert.match(a.errors[0].message, /ended before/)
})

test('a non-JSON upstream event is reported as an error', () => {
  const t = createAnthropicToOpenAIStreamTranslator()
  const a = assembleOpenAI(t.push({ event: 'message_start', data: '{nope' }) + t.end())
  assert.match(a.errors[0].message, /not JSON/)
})
