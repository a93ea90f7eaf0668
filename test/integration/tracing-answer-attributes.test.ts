/**
 * `gen_ai.response.model` and `gen_ai.response.finish_reasons` on the spans, read from the answer
 * itself (the usage tap's pass, a translated answer's decoded form): OpenAI JSON and streams passed
 * through (a scripted upstream answering a model name the caller never sent, two choices stopping
 * for different reasons), Anthropic passed through (the official Anthropic SDK), and OpenAI callers
 * translated to Anthropic and Gemini, JSON and streamed. The stream spans keep their first-token
 * event and usage.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js'
import { freePort } from '../support/ports.js'
import { sseData, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream.js'
import { startAnthropicMock } from '../support/mocks/anthropic-mock.js'
import { startGeminiMock } from '../support/mocks/gemini-mock.js'
import type { ProviderMock } from '../support/mocks/mock-server.js'

let up: ScriptedUpstream
let anthropic: ProviderMock
let gemini: ProviderMock
let gw: GatewayProcess
let otlp: OtlpReceiver
let base: string

/** What the scripted OpenAI upstream says it is: never what the caller asked for. */
const SERVED = 'gpt-4o-2024-08-06'

before(async () => {
  up = await startScriptedUpstream()
  up.answer = (req, res) => {
    const body = JSON.parse(req.body)
    const n = body.n ?? 1
    const finish = (i: number) => (i === 0 ? 'stop' : 'length')
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({
        id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: SERVED,
        choices: Array.from({ length: n }, (_, i) => ({ index: i, message: { role: 'assistant', content: `answer ${i} says "finish_reason":"nope"` }, finish_reason: finish(i) })),
        usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
      }))
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const chunk = (choices: unknown[], extra: object = {}) => sseData({ id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1, model: SERVED, choices, ...extra })
    let out = chunk(Array.from({ length: n }, (_, i) => ({ index: i, delta: { role: 'assistant', content: '' }, finish_reason: null })))
    for (let i = 0; i < n; i++) out += chunk([{ index: i, delta: { content: `text ${i}` }, finish_reason: null }])
    for (let i = n - 1; i >= 0; i--) out += chunk([{ index: i, delta: {}, finish_reason: finish(i) }])
    out += chunk([], { usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } })
    res.end(out + 'data: [DONE]\n\n')
  }
  const opts = { reply: 'Hello from the mock', chunks: 3, delayMs: 10, apiKey: 'test-key' }
  anthropic = await startAnthropicMock(opts)
  gemini = await startGeminiMock(opts)
  otlp = await startOtlpReceiver()
  const port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
telemetry:
  tracing: { endpoint: "${otlp.url}", batch: { max_size: 64, interval: 50ms } }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - { name: openai, match: { model: { exact: gpt-4o } }, cluster: scripted }
      - { name: claude, match: { model: { glob: "claude-*" } }, cluster: anthropic-up }
      - { name: gemini, match: { model: { glob: "gemini-*" } }, cluster: gemini-up }
clusters:
  - { name: scripted, provider: openai, endpoints: [{ url: "${up.url}/v1", api_key: sk-scripted }] }
  - { name: anthropic-up, provider: anthropic, endpoints: [{ url: "${anthropic.url}/v1", api_key: test-key }], model_map: { claude-sonnet: claude-sonnet-4-5 } }
  - { name: gemini-up, provider: gemini, endpoints: [{ url: "${gemini.url}", api_key: test-key }], model_map: { gemini-flash: gemini-2.0-flash-001 } }
`)
  base = `http://127.0.0.1:${port}`
})

after(async () => {
  const code = await gw?.stop()
  await Promise.all([up?.close(), anthropic?.close(), gemini?.close(), otlp?.close()])
  assert.equal(code, 0, gw?.output())
})

const openai = () => new OpenAI({ baseURL: `${base}/v1`, apiKey: 'caller-key', maxRetries: 0 })

/** The server span of this request id and its one client span, once both arrived. */
async function spansOf(requestId: string): Promise<{ server: ReceivedSpan; attempt: ReceivedSpan }> {
  const find = (all: ReceivedSpan[]) => all.find((s) => s.kind === 2 && s.attributes['switchyard.request_id'] === requestId)
  const all = await otlp.waitFor((s) => {
    const server = find(s)
    return server !== undefined && s.some((c) => c.parentSpanId === server.spanId)
  }, 10_000, `the trace of ${requestId}`)
  const server = find(all)!
  return { server, attempt: all.find((s) => s.parentSpanId === server.spanId)! }
}

const answer = (s: ReceivedSpan) => ({ model: s.attributes['gen_ai.response.model'], finish: s.attributes['gen_ai.response.finish_reasons'] })

test('OpenAI JSON passed through: the model the upstream named and each choice\'s finish reason, by choice', async () => {
  const one = await openai().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': 'json-1' } })
  assert.equal(one.model, SERVED)
  const a = await spansOf('json-1')
  assert.deepStrictEqual(answer(a.attempt), { model: SERVED, finish: ['stop'] })
  assert.deepStrictEqual(answer(a.server), { model: undefined, finish: undefined }, 'the answer\'s facts are the client span\'s only')
  assert.equal(a.attempt.attributes['gen_ai.request.model'], 'gpt-4o')

  await openai().chat.completions.create({ model: 'gpt-4o', n: 2, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': 'json-2' } })
  assert.deepStrictEqual(answer((await spansOf('json-2')).attempt), { model: SERVED, finish: ['stop', 'length'] })
})

test('OpenAI stream passed through: model and finish reasons from the tap\'s scan; first-token event and usage kept', async () => {
  const stream = await openai().chat.completions.create({ model: 'gpt-4o', n: 2, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': 'sse-1' } })
  let text = ''
  for await (const c of stream) for (const ch of c.choices) text += ch.delta?.content ?? ''
  assert.equal(text, 'text 0text 1')
  const { server, attempt } = await spansOf('sse-1')
  assert.deepStrictEqual(answer(attempt), { model: SERVED, finish: ['stop', 'length'] })
  assert.ok(attempt.events.some((e) => e.name === 'gen_ai.first_token' && Number(e.attributes['gen_ai.server.time_to_first_token']) > 0), JSON.stringify(attempt.events))
  // The gateway asked for usage itself; the tap read it (and removed the chunk from the caller's stream).
  assert.equal(attempt.attributes['gen_ai.usage.input_tokens'], 5)
  assert.equal(attempt.attributes['gen_ai.usage.output_tokens'], 4)
  assert.equal(server.attributes['gen_ai.usage.output_tokens'], undefined)
})

test('Anthropic passed through (official SDK), JSON and stream: model from the message, stop_reason from message_delta', async () => {
  const client = new Anthropic({ baseURL: base, apiKey: 'caller-key', maxRetries: 0 })
  const msg = await client.messages.create({ model: 'claude-sonnet', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': 'an-json' } })
  assert.equal(msg.stop_reason, 'end_turn')
  assert.deepStrictEqual(answer((await spansOf('an-json')).attempt), { model: 'claude-sonnet-4-5', finish: ['end_turn'] })

  const stream = client.messages.stream({ model: 'claude-sonnet', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': 'an-sse' } })
  await stream.finalMessage()
  const { attempt } = await spansOf('an-sse')
  assert.deepStrictEqual(answer(attempt), { model: 'claude-sonnet-4-5', finish: ['end_turn'] })
  assert.ok(Number(attempt.attributes['gen_ai.usage.output_tokens']) > 0)
  assert.ok(attempt.events.some((e) => e.name === 'gen_ai.first_token'))
})

test('OpenAI callers translated to Anthropic and Gemini: the upstream\'s model and reason (JSON), the canonical reason (streams)', async () => {
  await openai().chat.completions.create({ model: 'claude-sonnet', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': 'tr-an-json' } })
  assert.deepStrictEqual(answer((await spansOf('tr-an-json')).attempt), { model: 'claude-sonnet-4-5', finish: ['end_turn'] })

  await openai().chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': 'tr-ge-json' } })
  assert.deepStrictEqual(answer((await spansOf('tr-ge-json')).attempt), { model: 'gemini-2.0-flash-001', finish: ['STOP'] })

  for (const [model, id, served] of [['claude-sonnet', 'tr-an-sse', 'claude-sonnet-4-5'], ['gemini-flash', 'tr-ge-sse', 'gemini-2.0-flash-001']] as const) {
    const stream = await openai().chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': id } })
    for await (const _ of stream) { /* drain */ }
    const { attempt } = await spansOf(id)
    assert.deepStrictEqual(answer(attempt), { model: served, finish: ['stop'] }, id)
    assert.ok(Number(attempt.attributes['gen_ai.usage.output_tokens']) > 0, id)
  }
})
