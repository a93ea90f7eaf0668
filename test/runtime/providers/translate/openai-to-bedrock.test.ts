// OpenAI (and Anthropic) callers, Bedrock Converse upstream.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bedrockPath, openAIToBedrockRequest } from '../../../../src/runtime/providers/translate/openai-request-to-bedrock.js'
import {
  bedrockResponseToAnthropic, bedrockResponseToOpenAI, createBedrockToAnthropicStreamTranslator, createBedrockToOpenAIStreamTranslator,
} from '../../../../src/runtime/providers/translate/index.js'
import { createEventStreamDecoder, type EventStreamMessage } from '../../../../src/runtime/providers/translate/aws-event-stream.js'
import { TranslationError } from '../../../../src/runtime/providers/translate/translation-error.js'
import type { OpenAIChatRequest } from '../../../../src/runtime/providers/translate/types.js'
import { assembleAnthropic, assembleOpenAI, runStream } from '../../../support/sse-streams.js'
import { fixtureBytes, fixtureJson } from '../../../support/fixtures.js'

const base = (extra: Partial<OpenAIChatRequest> = {}): OpenAIChatRequest => ({ model: 'anthropic.claude-3-haiku', messages: [{ role: 'user', content: 'hi' }], ...extra })

function frames(path: string, chunk: number): EventStreamMessage[] {
  const bytes = fixtureBytes(path)
  const d = createEventStreamDecoder()
  const out: EventStreamMessage[] = []
  for (let i = 0; i < bytes.length; i += chunk) out.push(...d.push(bytes.subarray(i, i + chunk)))
  d.end()
  return out
}

test('a full OpenAI request becomes a Converse request', () => {
  const { body, dropped } = openAIToBedrockRequest(fixtureJson('openai/chat-request-tools.json'))
  assert.deepStrictEqual(body, {
    messages: [
      {
        role: 'user',
        content: [
          { text: "What's the weather like in Boston today? Also, what is in this image?" },
          { image: { format: 'jpeg', source: { bytes: '/9j/4AAQSkZJRg==' } } },
        ],
      },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 'call_abc123', name: 'get_current_weather', input: { location: 'Boston, MA' } } }] },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'call_abc123', content: [{ text: '{"temperature":22,"unit":"celsius"}' }] } },
          { text: 'Thanks. And tomorrow?' },
        ],
      },
    ],
    system: [{ text: 'You are a helpful assistant.' }, { text: 'Answer briefly.' }],
    inferenceConfig: { maxTokens: 500, temperature: 0.7, stopSequences: ['END'] },
    toolConfig: {
      tools: [{
        toolSpec: {
          name: 'get_current_weather',
          inputSchema: {
            json: {
              type: 'object',
              properties: {
                location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
                unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
              },
              required: ['location'],
              additionalProperties: false,
            },
          },
          description: 'Get the current weather in a given location',
        },
      }],
      toolChoice: { auto: {} },
    },
  })
  assert.deepStrictEqual(dropped, ['user', 'seed', 'logit_bias'])
})

test('the model id goes in the URL path', () => {
  assert.equal(bedrockPath('us.anthropic.claude-3-5-sonnet-20241022-v2:0', true), '/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream')
  assert.equal(bedrockPath('amazon.nova-lite-v1:0', false), '/model/amazon.nova-lite-v1%3A0/converse')
})

test('tool history without declared tools gets minimal tool specs so Converse accepts it', () => {
  const { body } = openAIToBedrockRequest(base({
    messages: [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 't', content: 'y' },
    ],
  }))
  assert.deepStrictEqual(body.toolConfig, { tools: [{ toolSpec: { name: 'lookup', inputSchema: { json: { type: 'object', properties: {} } } } }] })
})

test('tool_choice none keeps the tools but is reported as dropped', () => {
  const { body, dropped } = openAIToBedrockRequest(base({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'none' }))
  assert.equal(body.toolConfig!.toolChoice, undefined)
  assert.deepStrictEqual(dropped, ['tool_choice'])
})

test('required and named tool choices map to any and tool', () => {
  const tools = [{ type: 'function' as const, function: { name: 'f' } }]
  assert.deepStrictEqual(openAIToBedrockRequest(base({ tools, tool_choice: 'required' })).body.toolConfig!.toolChoice, { any: {} })
  assert.deepStrictEqual(openAIToBedrockRequest(base({ tools, tool_choice: { type: 'function', function: { name: 'f' } } })).body.toolConfig!.toolChoice, { tool: { name: 'f' } })
})

test('a PDF file part becomes a document block with a Bedrock-safe name', () => {
  const { body } = openAIToBedrockRequest(base({
    messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'q3_report.v2.pdf' } }] }],
  }))
  assert.deepStrictEqual(body.messages[0]!.content, [{ document: { format: 'pdf', name: 'q3 report v2', source: { bytes: 'JVBERi0=' } } }])
})

test('an unsupported image type is rejected', () => {
  assert.throws(
    () => openAIToBedrockRequest(base({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/tiff;base64,AA==' } }] }] })),
    TranslationError,
  )
})

test('a Converse tool-use response becomes OpenAI tool_calls with cache reads added to prompt tokens', () => {
  const out = bedrockResponseToOpenAI(fixtureJson('bedrock/converse-response-tool-use.json'), { model: 'claude-on-bedrock' })
  assert.equal(out.model, 'claude-on-bedrock')
  assert.equal(out.choices[0]!.finish_reason, 'tool_calls')
  assert.equal(out.choices[0]!.message.content, "I'll look up the top song on WZPZ.")
  assert.deepStrictEqual(out.choices[0]!.message.tool_calls, [{ id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', type: 'function', function: { name: 'top_song', arguments: '{"sign":"WZPZ"}' } }])
  assert.equal(out.usage!.prompt_tokens, 475)
  assert.equal(out.usage!.prompt_tokens_details!.cached_tokens, 100)
})

test('a Converse max_tokens response becomes an Anthropic max_tokens message', () => {
  const out = bedrockResponseToAnthropic(fixtureJson('bedrock/converse-response-text.json'))
  assert.equal(out.stop_reason, 'max_tokens')
  assert.deepStrictEqual(out.content, [{ type: 'text', text: 'Hello! How can I help you today?' }])
  assert.deepStrictEqual(out.usage, { input_tokens: 12, output_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 })
})

test('a binary ConverseStream split every 13 bytes becomes OpenAI chunks with usage from metadata', () => {
  const t = createBedrockToOpenAIStreamTranslator({ includeUsage: true, model: 'm' })
  const a = assembleOpenAI(runStream(t, frames('bedrock/stream-tool-use.bin.b64', 13)))
  assert.equal(a.content, 'Let me look that up — ünïcödé.')
  assert.deepStrictEqual(a.toolCalls, [{ id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', name: 'top_song', arguments: '{"sign": "WZPZ"}' }])
  assert.equal(a.finish, 'tool_calls')
  assert.equal(a.done, true)
  assert.equal(a.usage.prompt_tokens, 400)
  assert.equal(a.usage.prompt_tokens_details.cached_tokens, 25)
  assert.deepStrictEqual(t.usage(), { inputTokens: 400, outputTokens: 62, cachedInputTokens: 25 })
})

test('a ConverseStream becomes Anthropic blocks streamed live, tool block included', () => {
  const a = assembleAnthropic(runStream(createBedrockToAnthropicStreamTranslator(), frames('bedrock/stream-tool-use.bin.b64', 64)))
  assert.deepStrictEqual(a.content, [
    { type: 'text', text: 'Let me look that up — ünïcödé.' },
    { type: 'tool_use', id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', name: 'top_song', input: { sign: 'WZPZ' } },
  ])
  assert.equal(a.stopReason, 'tool_use')
  assert.deepStrictEqual(a.usage, { input_tokens: 375, output_tokens: 62, cache_creation_input_tokens: 0, cache_read_input_tokens: 25 })
})

test('a throttling exception frame becomes a 429-typed error for the caller', () => {
  const o = assembleOpenAI(runStream(createBedrockToOpenAIStreamTranslator(), frames('bedrock/stream-throttling-exception.bin.b64', 1000)))
  assert.deepStrictEqual(o.errors, [{ message: 'Too many requests, please wait before trying again.', type: 'rate_limit_error', param: null, code: null }])
  const a = assembleAnthropic(runStream(createBedrockToAnthropicStreamTranslator(), frames('bedrock/stream-throttling-exception.bin.b64', 1000)))
  assert.deepStrictEqual(a.errors, [{ type: 'rate_limit_error', message: 'Too many requests, please wait before trying again.' }])
})
