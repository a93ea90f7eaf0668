/**
 * OpenTelemetry traces end to end: a gateway (two workers) exports to an in-test OTLP/HTTP receiver,
 * the official openai SDK calls it in front of local OpenAI-format upstreams, and the decoded spans
 * must show a SERVER span per request with a CLIENT span per upstream attempt under it — names,
 * parent/child links, GenAI attributes, W3C traceparent continuation from the caller and onward to the
 * upstream — for a plain request, a stream, a retried request and a failed-over one. Nothing from the
 * prompt, the completion or any credential may appear in what is exported.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js'
import { freePort } from '../support/ports.js'
import { parseTraceparent } from '../../src/runtime/telemetry/tracing/trace-context.js'

let a: Upstream
let b: Upstream
let gw: GatewayProcess
let otlp: OtlpReceiver
let client: OpenAI

const PROMPT = 'prompt-text-that-must-not-be-exported'
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN = '00f067aa0ba902b7'

before(async () => {
  a = await startOpenAIUpstream('up-a', { usage: () => ({ prompt_tokens: 11, completion_tokens: 7 }) })
  b = await startOpenAIUpstream('up-b', { usage: () => ({ prompt_tokens: 11, completion_tokens: 7 }) })
  otlp = await startOtlpReceiver()
  const port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
telemetry:
  tracing:
    endpoint: "${otlp.url}"
    headers: { authorization: "Bearer otlp-secret-token-value" }
    service_name: switchyard-test
    resource_attributes: { deployment.environment.name: test }
    batch: { max_size: 64, interval: 50ms }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
routes:
  - name: main
    rules:
      - name: retried
        match: { headers: [{ name: x-case, exact: retry }] }
        cluster: up-a
        retry_policy: { retry_on: [5xx], num_retries: 1, base_interval: 1ms, max_interval: 2ms }
      - name: failover
        match: { headers: [{ name: x-case, exact: failover }] }
        fallback: { clusters: [{ cluster: up-a }, { cluster: up-b, model_rewrite: gpt-4o-backup }], on: [5xx] }
      - name: chat
        match: { path: { exact: /v1/chat/completions } }
        cluster: up-a
clusters:
  - { name: up-a, provider: openai, models: [gpt-4o], endpoints: [{ name: a0, url: "${a.url}", api_key: sk-a-secret-value }] }
  - { name: up-b, provider: openai, models: [gpt-4o], endpoints: [{ name: b0, url: "${b.url}", api_key: sk-b-secret-value }] }
`, { workers: 2 })
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-client-secret-key', maxRetries: 0 })
})

after(async () => {
  const code = await gw?.stop()
  await Promise.all([a?.close(), b?.close(), otlp?.close()])
  assert.equal(code, 0)
})

/** The trace a request with this request id made: its server span and client spans, once all arrived. */
async function traceOf(requestId: string, clients: number): Promise<{ server: ReceivedSpan; attempts: ReceivedSpan[] }> {
  const find = (spans: ReceivedSpan[]) => spans.find((s) => s.kind === 2 && s.attributes['switchyard.request_id'] === requestId)
  const spans = await otlp.waitFor((all) => {
    const server = find(all)
    return server !== undefined && all.filter((s) => s.parentSpanId === server.spanId).length === clients
  }, 10_000, `the trace of ${requestId}`)
  const server = find(spans)!
  const attempts = spans.filter((s) => s.parentSpanId === server.spanId).sort((x, y) => Number(x.attributes['switchyard.attempt']) - Number(y.attributes['switchyard.attempt']))
  return { server, attempts }
}

function pick(s: ReceivedSpan, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in s.attributes).map((k) => [k, s.attributes[k]]))
}

test('a plain request continues the caller\'s trace: server span under the caller\'s, client span under it, and the upstream gets the client span\'s context', async () => {
  const traceparent = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`
  const seen = a.requests.length
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: PROMPT }] }, { headers: { traceparent, tracestate: 'vendor=abc', 'x-request-id': 'plain-1' } })
  const { server, attempts } = await traceOf('plain-1', 1)
  assert.equal(server.traceId, CALLER_TRACE)
  assert.equal(server.parentSpanId, CALLER_SPAN)
  assert.equal(server.name, 'POST chat')
  assert.deepStrictEqual(pick(server, ['http.request.method', 'url.path', 'http.response.status_code', 'switchyard.listener', 'switchyard.route', 'switchyard.cluster', 'switchyard.endpoint', 'gen_ai.request.model', 'gen_ai.usage.input_tokens', 'switchyard.attempts']), {
    'http.request.method': 'POST', 'url.path': '/v1/chat/completions', 'http.response.status_code': 200, 'switchyard.listener': 'api', 'switchyard.route': 'chat',
    'gen_ai.request.model': 'gpt-4o', 'switchyard.attempts': 1,
  }, 'who answered and the usage are on the client span only')
  const [attempt] = attempts
  assert.equal(attempt.kind, 3)
  assert.equal(attempt.traceId, CALLER_TRACE)
  assert.equal(attempt.name, 'chat gpt-4o')
  assert.deepStrictEqual(pick(attempt, ['gen_ai.operation.name', 'gen_ai.provider.name', 'gen_ai.request.model', 'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'server.address', 'server.port', 'switchyard.cluster', 'switchyard.endpoint', 'switchyard.attempt', 'switchyard.attempt.outcome', 'http.response.status_code']), {
    'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 11, 'gen_ai.usage.output_tokens': 7,
    'server.address': '127.0.0.1', 'server.port': a.port, 'switchyard.cluster': 'up-a', 'switchyard.endpoint': 'a0', 'switchyard.attempt': 1, 'switchyard.attempt.outcome': 'success', 'http.response.status_code': 200,
  })
  assert.ok(attempt.startNs >= server.startNs && attempt.endNs <= server.endNs, `the attempt lies inside the request: ${[server.startNs, attempt.startNs, attempt.endNs, server.endNs].map((n) => n - server.startNs).join(' ')}`)
  const upstream = a.requests[seen]
  assert.deepStrictEqual(parseTraceparent(String(upstream.headers.traceparent)), { traceId: CALLER_TRACE, spanId: attempt.spanId, traceFlags: 1 })
  assert.equal(upstream.headers.tracestate, 'vendor=abc')
  assert.equal(server.resource['service.name'], 'switchyard-test')
  assert.equal(server.resource['deployment.environment.name'], 'test')
})

test('a request without traceparent starts a new trace; a caller that did not sample is not traced and its traceparent goes upstream unchanged', async () => {
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: PROMPT }] }, { headers: { 'x-request-id': 'root-1' } })
  const { server } = await traceOf('root-1', 1)
  assert.equal(server.parentSpanId, '')
  assert.notEqual(server.traceId, CALLER_TRACE)

  const unsampled = `00-${CALLER_TRACE}-${CALLER_SPAN}-00`
  const seen = a.requests.length
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: PROMPT }] }, { headers: { traceparent: unsampled, 'x-request-id': 'unsampled-1' } })
  assert.equal(a.requests[seen].headers.traceparent, unsampled)
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: PROMPT }] }, { headers: { 'x-request-id': 'after-unsampled' } })
  await traceOf('after-unsampled', 1)
  assert.equal(otlp.spans.filter((s) => s.attributes['switchyard.request_id'] === 'unsampled-1').length, 0)
})

test('a stream: the client span has a first-token event and the usage the stream reported', async () => {
  const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: PROMPT }] }, { headers: { 'x-request-id': 'stream-1' } })
  let text = ''
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
  assert.ok(text.length > 0)
  const { server, attempts: [attempt] } = await traceOf('stream-1', 1)
  const first = attempt.events.find((e) => e.name === 'gen_ai.first_token')
  assert.ok(first, `events: ${JSON.stringify(attempt.events)}`)
  const ttft = Number(first.attributes['gen_ai.server.time_to_first_token'])
  assert.ok(ttft > 0 && ttft < 5, `ttft ${ttft}`)
  assert.deepStrictEqual(pick(attempt, ['gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'switchyard.attempt.outcome']), { 'gen_ai.usage.input_tokens': 11, 'gen_ai.usage.output_tokens': 7, 'switchyard.attempt.outcome': 'success' })
  assert.equal(server.attributes['http.response.status_code'], 200)
})

test('a retried request: two client spans, the first failed with its status and followed by a retry, the second says why it exists', async () => {
  a.failNext('500')
  const seen = a.requests.length
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: PROMPT }] }, { headers: { 'x-case': 'retry', 'x-request-id': 'retry-1' } })
  const { server, attempts } = await traceOf('retry-1', 2)
  assert.deepStrictEqual(attempts.map((s) => pick(s, ['switchyard.attempt', 'switchyard.cluster', 'switchyard.attempt.outcome', 'switchyard.attempt.next', 'switchyard.attempt.reason', 'error.type'])), [
    { 'switchyard.attempt': 1, 'switchyard.cluster': 'up-a', 'switchyard.attempt.outcome': '5xx', 'switchyard.attempt.next': 'retry', 'error.type': '500' },
    { 'switchyard.attempt': 2, 'switchyard.cluster': 'up-a', 'switchyard.attempt.outcome': 'success', 'switchyard.attempt.reason': '500' },
  ])
  assert.deepStrictEqual(attempts.map((s) => s.status), [2, 0])
  assert.equal(server.attributes['switchyard.attempts'], 2)
  assert.equal(server.status, 0, 'the request succeeded')
  // Each upstream request carried its own attempt's span id.
  assert.deepStrictEqual(a.requests.slice(seen).map((r) => parseTraceparent(String(r.headers.traceparent))?.spanId), attempts.map((s) => s.spanId))
})

test('a failed-over request: the first cluster\'s span failed with next=fallback, the second cluster answered under the rewritten model', async () => {
  a.failNext('503')
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: PROMPT }] }, { headers: { 'x-case': 'failover', 'x-request-id': 'failover-1' } })
  const { server, attempts } = await traceOf('failover-1', 2)
  assert.deepStrictEqual(attempts.map((s) => [s.name, pick(s, ['switchyard.cluster', 'switchyard.endpoint', 'switchyard.attempt.next', 'switchyard.attempt.reason', 'error.type', 'gen_ai.request.model'])]), [
    ['chat gpt-4o', { 'switchyard.cluster': 'up-a', 'switchyard.endpoint': 'a0', 'switchyard.attempt.next': 'fallback', 'error.type': '503', 'gen_ai.request.model': 'gpt-4o' }],
    ['chat gpt-4o-backup', { 'switchyard.cluster': 'up-b', 'switchyard.endpoint': 'b0', 'switchyard.attempt.reason': '503', 'gen_ai.request.model': 'gpt-4o-backup' }],
  ])
  assert.deepStrictEqual(pick(server, ['switchyard.route', 'switchyard.cluster', 'gen_ai.request.model', 'switchyard.attempts']), { 'switchyard.route': 'failover', 'gen_ai.request.model': 'gpt-4o', 'switchyard.attempts': 2 })
})

test('a request the gateway answers itself gets a server span alone, with its status', async () => {
  const res = await fetch(client.baseURL.replace('/v1', '/nowhere'), { method: 'POST', headers: { 'x-request-id': 'local-404' } })
  assert.equal(res.status, 404)
  const { server } = await traceOf('local-404', 0)
  assert.equal(server.name, 'POST')
  assert.equal(server.attributes['http.response.status_code'], 404)
})

test('nothing exported holds the prompt, the completion or a credential', async () => {
  await otlp.waitFor((s) => s.length > 0)
  const all = otlp.rawBodies.join('\n')
  for (const secret of [PROMPT, 'Mock reply', 'sk-a-secret-value', 'sk-b-secret-value', 'sk-client-secret-key', 'otlp-secret-token-value']) assert.ok(!all.includes(secret), `exported spans contain ${secret}`)
})
