// OpenAI (and Anthropic) callers, Gemini upstream.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { geminiPath, openAIToGeminiRequest } from '../../../../src/runtime/providers/translate/openai-request-to-gemini.js'
import { toGeminiSchema } from '../../../../src/runtime/providers/translate/json-schema-to-gemini.js'
import {
  createGeminiToAnthropicStreamTranslator, createGeminiToOpenAIStreamTranslator, geminiResponseToAnthropic, geminiResponseToOpenAI,
} from '../../../../src/runtime/providers/translate/index.js'
import { TranslationError } from '../../../../src/runtime/providers/translate/translation-error.js'
import type { OpenAIChatRequest } from '../../../../src/runtime/providers/translate/types.js'
import { assembleAnthropic, assembleOpenAI, runStream, sseEvents } from '../../../support/sse-streams.js'
import { fixture, fixtureJson } from '../../../support/fixtures.js'

const base = (extra: Partial<OpenAIChatRequest> = {}): OpenAIChatRequest => ({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }], ...extra })

test('a full OpenAI request becomes a Gemini generateContent request', () => {
  const { body, dropped } = openAIToGeminiRequest(fixtureJson('openai/chat-request-tools.json'))
  assert.deepStrictEqual(body, {
    contents: [
      {
        role: 'user',
        parts: [
          { text: "What's the weather like in Boston today? Also, what is in this image?" },
          { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQSkZJRg==' } },
        ],
      },
      { role: 'model', parts: [{ functionCall: { name: 'get_current_weather', args: { location: 'Boston, MA' } } }] },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_current_weather', response: { temperature: 22, unit: 'celsius' } } },
          { text: 'Thanks. And tomorrow?' },
        ],
      },
    ],
    systemInstruction: { parts: [{ text: 'You are a helpful assistant.' }, { text: 'Answer briefly.' }] },
    generationConfig: { maxOutputTokens: 500, temperature: 0.7, stopSequences: ['END'], seed: 42 },
    tools: [{
      functionDeclarations: [{
        name: 'get_current_weather',
        description: 'Get the current weather in a given location',
        parameters: {
          type: 'object',
          properties: {
            location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
            unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
          },
          required: ['location'],
        },
      }],
    }],
    toolConfig: { functionCallingConfig: { mode: 'AUTO' } },
  })
  assert.deepStrictEqual(dropped, ['user', 'logit_bias'])
})

test('the model goes in the URL path, with alt=sse for streams', () => {
  assert.equal(geminiPath('gemini-2.5-flash', false), '/v1beta/models/gemini-2.5-flash:generateContent')
  assert.equal(geminiPath('models/gemini-2.5-flash', true), '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse')
})

test('a plain-text tool result is wrapped as an output object', () => {
  const { body } = openAIToGeminiRequest(base({
    messages: [
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
    ],
  }))
  assert.deepStrictEqual(body.contents[1], { role: 'user', parts: [{ functionResponse: { name: 'f', response: { output: 'sunny' } } }] })
})

test('a tool result for an unknown call id is rejected', () => {
  assert.throws(
    () => openAIToGeminiRequest(base({ messages: [{ role: 'tool', tool_call_id: 'nope', content: 'x' }] })),
    (e: unknown) => e instanceof TranslationError && e.param === 'messages[0].tool_call_id',
  )
})

test('http image URLs are rejected because Gemini needs inline data', () => {
  assert.throws(
    () => openAIToGeminiRequest(base({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] })),
    TranslationError,
  )
})

test('a named tool_choice becomes mode ANY restricted to that function', () => {
  const { body } = openAIToGeminiRequest(base({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'f' } } }))
  assert.deepStrictEqual(body.toolConfig, { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['f'] } })
  assert.deepStrictEqual(body.tools, [{ functionDeclarations: [{ name: 'f' }] }])
})

test('response_format json_schema becomes a JSON mime type with a Gemini schema', () => {
  const { body } = openAIToGeminiRequest(base({
    response_format: {
      type: 'json_schema',
      json_schema: { name: 'r', schema: { $schema: 'x', type: 'object', properties: { a: { type: ['string', 'null'] }, k: { const: 3 } }, additionalProperties: false } },
    },
  }))
  assert.deepStrictEqual(body.generationConfig, {
    responseMimeType: 'application/json',
    responseSchema: { type: 'object', properties: { a: { type: 'string', nullable: true }, k: { enum: ['3'], type: 'string' } } },
  })
})

test('the schema converter inlines local $refs and stops at cycles', () => {
  const s = toGeminiSchema({
    type: 'object',
    properties: { node: { $ref: '#/$defs/Node' } },
    $defs: { Node: { type: 'object', properties: { next: { $ref: '#/$defs/Node' } } } },
  })
  assert.deepStrictEqual(s, { type: 'object', properties: { node: { type: 'object', properties: { next: { type: 'object' } } } } })
})

test('a Gemini function-call response becomes OpenAI tool_calls with thinking counted as reasoning', () => {
  const out = geminiResponseToOpenAI(fixtureJson('gemini/generate-response-function-call.json'))
  const choice = out.choices[0]!
  assert.equal(choice.finish_reason, 'tool_calls')
  assert.equal(choice.message.content, null)
  assert.equal(choice.message.tool_calls![0]!.function.name, 'schedule_meeting')
  assert.deepStrictEqual(JSON.parse(choice.message.tool_calls![0]!.function.arguments), { attendees: ['Bob', 'Alice'], date: '2025-03-27', time: '10:00', topic: 'Q3 planning' })
  assert.match(choice.message.tool_calls![0]!.id, /^call_/)
  assert.deepStrictEqual(out.usage, {
    prompt_tokens: 120, completion_tokens: 50, total_tokens: 170,
    prompt_tokens_details: { cached_tokens: 64 }, completion_tokens_details: { reasoning_tokens: 20 },
  })
  assert.equal(out.model, 'gemini-2.5-flash')
})

test('thought parts are left out of the answer and MAX_TOKENS becomes length', () => {
  const out = geminiResponseToOpenAI(fixtureJson('gemini/generate-response-text.json'))
  assert.equal(out.choices[0]!.message.content, 'AI learns patterns from data.')
  assert.equal(out.choices[0]!.finish_reason, 'length')
})

test('a prompt blocked for safety becomes content_filter with no content', () => {
  const out = geminiResponseToAnthropic(fixtureJson('gemini/generate-response-blocked.json'))
  assert.equal(out.stop_reason, 'refusal')
  assert.deepStrictEqual(out.content, [])
})

test('a Gemini SSE text stream read 5 bytes at a time becomes OpenAI chunks', () => {
  const t = createGeminiToOpenAIStreamTranslator({ includeUsage: true, model: 'gemini-alias' })
  const a = assembleOpenAI(runStream(t, sseEvents(fixture('gemini/stream-text.sse'), 5)))
  assert.equal(a.content, 'The quick brown fox jumps over the lazy dog — ünïcödé ✓.')
  assert.equal(a.finish, 'stop')
  assert.equal(a.done, true)
  assert.deepStrictEqual(a.usage, {
    prompt_tokens: 8, completion_tokens: 22, total_tokens: 30,
    prompt_tokens_details: { cached_tokens: 2 }, completion_tokens_details: { reasoning_tokens: 8 },
  })
  assert.ok(a.chunks.every((c) => c.model === 'gemini-alias'))
})

test('Gemini parallel function calls stream as two OpenAI tool calls and finish as tool_calls', () => {
  const a = assembleOpenAI(runStream(createGeminiToOpenAIStreamTranslator(), sseEvents(fixture('gemini/stream-function-call.sse'))))
  assert.equal(a.content, 'Let me check both cities.')
  assert.deepStrictEqual(a.toolCalls.map((t) => [t.name, JSON.parse(t.arguments)]), [['get_weather', { city: 'Paris' }], ['get_weather', { city: 'Tokyo' }]])
  assert.notEqual(a.toolCalls[0]!.id, a.toolCalls[1]!.id)
  assert.equal(a.finish, 'tool_calls')
})

test('a Gemini function-call stream becomes Anthropic text then two tool_use blocks', () => {
  const a = assembleAnthropic(runStream(createGeminiToAnthropicStreamTranslator(), sseEvents(fixture('gemini/stream-function-call.sse'))))
  assert.deepStrictEqual(a.content.map((b) => b.type === 'text' ? b.text : b.input), ['Let me check both cities.', { city: 'Paris' }, { city: 'Tokyo' }])
  assert.equal(a.stopReason, 'tool_use')
  assert.deepStrictEqual(a.usage, { input_tokens: 40, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 })
})

test('an error object inside a Gemini stream becomes an OpenAI error frame', () => {
  const a = assembleOpenAI(runStream(createGeminiToOpenAIStreamTranslator(), [{ data: '{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}' }]))
  assert.deepStrictEqual(a.errors, [{ message: 'The model is overloaded.', type: 'server_error', param: null, code: null }])
})
