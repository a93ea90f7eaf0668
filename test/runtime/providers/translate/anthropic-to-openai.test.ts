// Anthropic caller, OpenAI upstream: request out, response and stream back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { anthropicToOpenAIRequest } from '../../../../src/runtime/providers/translate/anthropic-request-to-openai.js'
import { createOpenAIToAnthropicStreamTranslator, openAIResponseToAnthropic } from '../../../../src/runtime/providers/translate/index.js'
import { TranslationError } from '../../../../src/runtime/providers/translate/translation-error.js'
import type { AnthropicRequest } from '../../../../src/runtime/providers/translate/types.js'
import { assembleAnthropic, runStream, sseEvents } from '../../../support/sse-streams.js'
import { fixture, fixtureJson } from '../../../support/fixtures.js'

const base = (extra: Partial<AnthropicRequest> = {}): AnthropicRequest => ({
  model: 'gpt-4o', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], ...extra,
})

test('a full Anthropic request with tools, tool results and images becomes an OpenAI request', () => {
  const { body, dropped } = anthropicToOpenAIRequest(fixtureJson('anthropic/messages-request.json'))
  assert.deepStrictEqual(body, {
    model: 'claude-sonnet-4-5',
    messages: [
      { role: 'system', content: 'You are a weather bot.' },
      { role: 'user', content: 'What is the weather like in San Francisco?' },
      {
        role: 'assistant',
        content: '<thinking>I need to use get_weather.</thinking>',
        tool_calls: [{ id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA"}' } }],
      },
      { role: 'tool', tool_call_id: 'toolu_01A09q90qw90lq917835lq9', content: '15 degrees' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'And this picture?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      },
    ],
    max_completion_tokens: 1024,
    stop: ['###'],
    temperature: 0.5,
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Get the current weather in a given location',
          parameters: {
            type: 'object',
            properties: { location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' } },
            required: ['location'],
          },
        },
      },
    ],
    tool_choice: 'required',
    parallel_tool_calls: false,
    user: 'user-123',
  })
  assert.deepStrictEqual(dropped, ['top_k'])
})

test('a streaming Anthropic request asks the OpenAI upstream for usage', () => {
  const { body } = anthropicToOpenAIRequest(base({ stream: true }))
  assert.equal(body.stream, true)
  assert.deepStrictEqual(body.stream_options, { include_usage: true })
})

test('max_tokens can be sent as the legacy max_tokens field', () => {
  const { body } = anthropicToOpenAIRequest(base(), { maxTokensField: 'max_tokens' })
  assert.equal(body.max_tokens, 100)
  assert.equal(body.max_completion_tokens, undefined)
})

test('images inside a tool result move to a user turn after the tool message', () => {
  const { body } = anthropicToOpenAIRequest(base({
    messages: [{
      role: 'user',
      content: [{
        type: 'tool_result', tool_use_id: 't1',
        content: [{ type: 'text', text: 'chart:' }, { type: 'image', source: { type: 'url', url: 'https://x/y.png' } }],
      }],
    }],
  }))
  assert.deepStrictEqual(body.messages, [
    { role: 'tool', tool_call_id: 't1', content: 'chart:' },
    { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
  ])
})

test('a base64 PDF document becomes an OpenAI file part', () => {
  const { body } = anthropicToOpenAIRequest(base({
    messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }] }],
  }))
  assert.deepStrictEqual(body.messages[0], { role: 'user', content: [{ type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'document.pdf' } }] })
})

test('Anthropic server tools are rejected because OpenAI cannot run them', () => {
  assert.throws(
    () => anthropicToOpenAIRequest(base({ tools: [{ type: 'web_search_20250305', name: 'web_search', input_schema: {} }] })),
    (e: unknown) => e instanceof TranslationError && e.param === 'tools[0]',
  )
})

test('tool_choice tool and none are mapped', () => {
  const tools = [{ name: 'f', input_schema: { type: 'object' } }]
  assert.deepStrictEqual(anthropicToOpenAIRequest(base({ tools, tool_choice: { type: 'tool', name: 'f' } })).body.tool_choice, { type: 'function', function: { name: 'f' } })
  assert.equal(anthropicToOpenAIRequest(base({ tools, tool_choice: { type: 'none' } })).body.tool_choice, 'none')
})

test('an OpenAI text response becomes an Anthropic message with max_tokens and usage', () => {
  const out = openAIResponseToAnthropic(fixtureJson('openai/chat-response-text.json'))
  assert.deepStrictEqual(out, {
    id: 'msg_chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
    type: 'message',
    role: 'assistant',
    model: 'gpt-4.1-2025-04-14',
    content: [{ type: 'text', text: 'Hello! How can I assist you today?' }],
    stop_reason: 'max_tokens',
    stop_sequence: null,
    usage: { input_tokens: 19, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  })
})

test('an OpenAI tool_calls response becomes tool_use blocks with parsed input and cache reads split out', () => {
  const out = openAIResponseToAnthropic(fixtureJson('openai/chat-response-tool-calls.json'))
  assert.deepStrictEqual(out.content, [{ type: 'tool_use', id: 'call_abc123', name: 'get_current_weather', input: { location: 'Boston, MA' } }])
  assert.equal(out.stop_reason, 'tool_use')
  assert.deepStrictEqual(out.usage, { input_tokens: 18, output_tokens: 17, cache_creation_input_tokens: 0, cache_read_input_tokens: 64 })
})

test('a streamed OpenAI text turn becomes the Anthropic event sequence', () => {
  const t = createOpenAIToAnthropicStreamTranslator({ model: 'claude-alias' })
  const a = assembleAnthropic(runStream(t, sseEvents(fixture('openai/stream-text.sse'))))
  assert.deepStrictEqual(a.names, [
    'message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
  ])
  assert.equal(a.events[0].message.model, 'claude-alias')
  assert.equal(a.events[0].message.id, 'msg_chatcmpl-123')
  assert.deepStrictEqual(a.content, [{ type: 'text', text: 'Hello wörld ✓' }])
  assert.equal(a.stopReason, 'end_turn')
  assert.deepStrictEqual(a.usage, { input_tokens: 5, output_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 4 })
  assert.deepStrictEqual(t.usage(), { inputTokens: 9, outputTokens: 12, cachedInputTokens: 4 })
})

test('interleaved OpenAI tool-call deltas become sequential tool_use blocks', () => {
  const a = assembleAnthropic(runStream(createOpenAIToAnthropicStreamTranslator(), sseEvents(fixture('openai/stream-parallel-tool-calls.sse'))))
  assert.deepStrictEqual(a.content, [
    { type: 'tool_use', id: 'call_paris', name: 'get_weather', input: { city: 'Paris' } },
    { type: 'tool_use', id: 'call_tokyo', name: 'get_weather', input: { city: 'Tokyo' } },
  ])
  assert.equal(a.stopReason, 'tool_use')
  assert.equal(a.usage.output_tokens, 40)
})

test('text followed by a tool call closes the text block before the tool block opens', () => {
  const chunk = (delta: object, finish: string | null = null) => ({ data: JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] }) })
  const a = assembleAnthropic(runStream(createOpenAIToAnthropicStreamTranslator(), [
    chunk({ role: 'assistant', content: 'Let me check. ' }),
    chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
    chunk({}, 'tool_calls'),
  ]))
  assert.deepStrictEqual(a.content, [{ type: 'text', text: 'Let me check. ' }, { type: 'tool_use', id: 'call_1', name: 'f', input: { a: 1 } }])
})

test('a tool call whose id arrives after its name is still announced once', () => {
  const chunk = (delta: object, finish: string | null = null) => ({ data: JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] }) })
  const a = assembleAnthropic(runStream(createOpenAIToAnthropicStreamTranslator(), [
    chunk({ tool_calls: [{ index: 0, function: { name: 'f', arguments: '{}' } }] }),
    chunk({ tool_calls: [{ index: 0, id: 'late' }] }),
    chunk({}, 'tool_calls'),
  ]))
  assert.deepStrictEqual(a.content, [{ type: 'tool_use', id: 'late', name: 'f', input: {} }])
})

test('an OpenAI error frame mid-stream becomes an Anthropic error event', () => {
  const a = assembleAnthropic(runStream(createOpenAIToAnthropicStreamTranslator(), [
    ...sseEvents(fixture('openai/stream-text.sse')).slice(0, 2),
    { data: '{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}' },
  ]))
  assert.deepStrictEqual(a.errors, [{ type: 'api_error', message: 'The server had an error' }])
  assert.ok(!a.names.includes('message_stop'))
})

test('an OpenAI stream cut off before finish_reason ends with an Anthropic error event', () => {
  const a = assembleAnthropic(runStream(createOpenAIToAnthropicStreamTranslator(), sseEvents(fixture('openai/stream-text.sse')).slice(0, 3)))
  assert.equal(a.names.at(-1), 'error')
  assert.match(a.errors[0].message, /ended before/)
})
