// The provider mocks speak their wire formats: checked with the official SDKs where we have
// them, and with our own parsers and translators otherwise.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startOpenAIMock } from './openai-mock.js'
import { startAnthropicMock } from './anthropic-mock.js'
import { startGeminiMock } from './gemini-mock.js'
import { startBedrockMock } from './bedrock-mock.js'
import { SseParser } from '../../../src/runtime/providers/sse/sse-parser.js'
import { createEventStreamDecoder, headerString, type EventStreamMessage } from '../../../src/runtime/providers/translate/aws-event-stream.js'
import {
  createBedrockToAnthropicStreamTranslator, createGeminiToOpenAIStreamTranslator, parseUpstreamError,
} from '../../../src/runtime/providers/translate/index.js'
import { assembleAnthropic, assembleOpenAI } from '../sse-streams.js'

const weatherTool = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }

test('the OpenAI mock answers the openai SDK with a completion and a usage-bearing stream', async (t) => {
  const mock = await startOpenAIMock({ reply: 'Grüße aus dem Mock ✓' })
  t.after(() => mock.close())
  const client = new OpenAI({ apiKey: 'test-key', baseURL: `${mock.url}/v1`, maxRetries: 0 })
  const done = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
  assert.equal(done.choices[0]!.message.content, 'Grüße aus dem Mock ✓')
  const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } })
  let text = ''
  let usage
  for await (const c of stream) {
    text += c.choices[0]?.delta.content ?? ''
    if (c.usage) usage = c.usage
  }
  assert.equal(text, 'Grüße aus dem Mock ✓')
  assert.ok(usage!.prompt_tokens > 0)
  assert.equal(mock.requests[0]!.headers.authorization, 'Bearer test-key')
})

test('the OpenAI mock streams a tool call the SDK can assemble', async (t) => {
  const mock = await startOpenAIMock({ toolArguments: { city: 'Paris' } })
  t.after(() => mock.close())
  const client = new OpenAI({ apiKey: 'test-key', baseURL: `${mock.url}/v1`, maxRetries: 0 })
  const final = await client.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'weather?' }], tools: [weatherTool] }).finalChatCompletion()
  assert.equal(final.choices[0]!.finish_reason, 'tool_calls')
  assert.deepStrictEqual(JSON.parse(final.choices[0]!.message.tool_calls![0]!.function.arguments), { city: 'Paris' })
})

test('the OpenAI mock rejects a wrong key and can be switched to a 429 with retry-after', async (t) => {
  const mock = await startOpenAIMock()
  t.after(() => mock.close())
  const bad = new OpenAI({ apiKey: 'nope', baseURL: `${mock.url}/v1`, maxRetries: 0 })
  await assert.rejects(bad.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }), (e: any) => e.status === 401 && e.code === 'invalid_api_key')
  mock.failNext({ kind: 'rate_limit', retryAfterSeconds: 7 })
  const client = new OpenAI({ apiKey: 'test-key', baseURL: `${mock.url}/v1`, maxRetries: 0 })
  await assert.rejects(client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }), (e: any) => e.status === 429 && e.headers.get('retry-after') === '7')
})

test('the Anthropic mock answers the Anthropic SDK, streaming included', async (t) => {
  const mock = await startAnthropicMock({ reply: 'Bonjour ✓', fragmentWrites: true })
  t.after(() => mock.close())
  const client = new Anthropic({ apiKey: 'test-key', baseURL: mock.url, maxRetries: 0 })
  const msg = await client.messages.create({ model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
  assert.deepStrictEqual(msg.content, [{ type: 'text', text: 'Bonjour ✓' }])
  const final = await client.messages.stream({ model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }).finalMessage()
  assert.equal((final.content[0] as { text: string }).text, 'Bonjour ✓')
  assert.equal(final.stop_reason, 'end_turn')
  assert.ok(mock.requests.every((r) => r.headers['anthropic-version'] === '2023-06-01'))
})

test('the Anthropic mock answers 401, 529 overloaded and a mid-stream error in Anthropic format', async (t) => {
  const mock = await startAnthropicMock()
  t.after(() => mock.close())
  const bad = new Anthropic({ apiKey: 'nope', baseURL: mock.url, maxRetries: 0 })
  await assert.rejects(bad.messages.create({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), (e: any) => e.status === 401 && e.error.error.type === 'authentication_error')
  const client = new Anthropic({ apiKey: 'test-key', baseURL: mock.url, maxRetries: 0 })
  mock.failNext({ kind: 'overloaded' })
  await assert.rejects(client.messages.create({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), (e: any) => e.status === 529)
  mock.failNext({ kind: 'midstream' })
  await assert.rejects(client.messages.stream({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).finalMessage(), /Overloaded/)
})

test('the Gemini mock checks the API key the way Gemini does', async (t) => {
  const mock = await startGeminiMock()
  t.after(() => mock.close())
  const url = `${mock.url}/v1beta/models/gemini-2.5-flash:generateContent`
  const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] })
  const missing = await fetch(url, { method: 'POST', body })
  assert.equal(missing.status, 403)
  assert.equal((await missing.json()).error.status, 'PERMISSION_DENIED')
  const wrong = await fetch(`${url}?key=nope`, { method: 'POST', body })
  assert.equal(parseUpstreamError('gemini', wrong.status, await wrong.text()).kind, 'authentication')
  const ok = await fetch(url, { method: 'POST', body, headers: { 'x-goog-api-key': 'test-key' } })
  assert.equal((await ok.json()).candidates[0].content.parts[0].text, 'Hello from the gemini mock.')
})

test('the Gemini mock SSE stream, read through parser and translator, yields the reply and usage', async (t) => {
  const mock = await startGeminiMock({ reply: 'Ein Gruß — ünïcödé ✓', fragmentWrites: true, chunks: 4 })
  t.after(() => mock.close())
  const res = await fetch(`${mock.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, {
    method: 'POST', headers: { 'x-goog-api-key': 'test-key' }, body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
  })
  assert.equal(res.headers.get('content-type'), 'text/event-stream')
  const p = new SseParser()
  const tr = createGeminiToOpenAIStreamTranslator({ includeUsage: true })
  let out = ''
  let reads = 0
  for await (const c of res.body!) {
    reads++
    for (const ev of p.push(c)) out += tr.push(ev)
  }
  out += tr.end()
  const a = assembleOpenAI(out)
  assert.equal(a.content, 'Ein Gruß — ünïcödé ✓')
  assert.equal(a.finish, 'stop')
  assert.ok(a.usage.prompt_tokens > 0)
  assert.ok(reads >= 4, `expected separate reads, got ${reads}`)
})

test('the Gemini mock without alt=sse streams a JSON array', async (t) => {
  const mock = await startGeminiMock()
  t.after(() => mock.close())
  const res = await fetch(`${mock.url}/v1beta/models/g:streamGenerateContent?key=test-key`, { method: 'POST', body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }) })
  const arr = await res.json()
  assert.ok(Array.isArray(arr) && arr.length === 3)
  assert.equal(arr.map((r: any) => r.candidates[0].content.parts[0].text).join(''), 'Hello from the gemini mock.')
})

test('the Gemini mock returns RESOURCE_EXHAUSTED with a RetryInfo delay', async (t) => {
  const mock = await startGeminiMock()
  t.after(() => mock.close())
  mock.failNext({ kind: 'rate_limit', retryAfterSeconds: 12 })
  const res = await fetch(`${mock.url}/v1beta/models/g:generateContent?key=test-key`, { method: 'POST', body: JSON.stringify({ contents: [] }) })
  const e = parseUpstreamError('gemini', res.status, await res.text(), res.headers)
  assert.deepStrictEqual([e.kind, e.retryAfterSeconds], ['rate_limit', 12])
})

async function bedrockFrames(res: Response): Promise<EventStreamMessage[]> {
  const d = createEventStreamDecoder()
  const out: EventStreamMessage[] = []
  for await (const c of res.body!) out.push(...d.push(c))
  d.end()
  return out
}

test('the Bedrock mock streams CRC-valid event-stream frames with a tool call', async (t) => {
  const mock = await startBedrockMock({ toolArguments: { sign: 'WZPZ' }, fragmentWrites: true })
  t.after(() => mock.close())
  const res = await fetch(`${mock.url}/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream`, {
    method: 'POST',
    headers: { authorization: 'Bearer test-key', 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'top song?' }] }], toolConfig: { tools: [{ toolSpec: { name: 'top_song', inputSchema: { json: { type: 'object' } } } }] } }),
  })
  assert.equal(res.headers.get('content-type'), 'application/vnd.amazon.eventstream')
  const frames = await bedrockFrames(res)
  assert.deepStrictEqual(frames.map((f) => headerString(f, ':event-type')), [
    'messageStart', 'contentBlockStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata',
  ])
  let out = ''
  const tr = createBedrockToAnthropicStreamTranslator({ model: 'claude' })
  for (const f of frames) out += tr.push(f)
  const a = assembleAnthropic(out + tr.end())
  assert.deepStrictEqual(a.content, [{ type: 'tool_use', id: a.content[0].id, name: 'top_song', input: { sign: 'WZPZ' } }])
  assert.equal(a.stopReason, 'tool_use')
})

test('the Bedrock mock accepts a SigV4 header for its access key and refuses missing or foreign credentials', async (t) => {
  const mock = await startBedrockMock()
  t.after(() => mock.close())
  const url = `${mock.url}/model/amazon.nova-lite-v1%3A0/converse`
  const body = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] })
  const sig = (akid: string) => `AWS4-HMAC-SHA256 Credential=${akid}/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'a'.repeat(64)}`
  const ok = await fetch(url, { method: 'POST', body, headers: { authorization: sig('AKIDEXAMPLE'), 'x-amz-date': '20250101T000000Z' } })
  assert.equal((await ok.json()).output.message.content[0].text, 'Hello from the bedrock mock.')
  const missing = await fetch(url, { method: 'POST', body })
  assert.equal(missing.status, 403)
  assert.match(missing.headers.get('x-amzn-errortype')!, /^MissingAuthenticationTokenException/)
  const foreign = await fetch(url, { method: 'POST', body, headers: { authorization: sig('AKIAOTHER'), 'x-amz-date': '20250101T000000Z' } })
  assert.equal(parseUpstreamError('bedrock', foreign.status, await foreign.text(), foreign.headers).kind, 'authentication')
})

test('the Bedrock mock can fail with a throttling exception in the middle of a stream', async (t) => {
  const mock = await startBedrockMock()
  t.after(() => mock.close())
  mock.failNext({ kind: 'midstream' })
  const res = await fetch(`${mock.url}/model/m/converse-stream`, { method: 'POST', headers: { authorization: 'Bearer test-key' }, body: JSON.stringify({ messages: [] }) })
  const frames = await bedrockFrames(res)
  const last = frames.at(-1)!
  assert.equal(headerString(last, ':message-type'), 'exception')
  assert.equal(headerString(last, ':exception-type'), 'throttlingException')
})
