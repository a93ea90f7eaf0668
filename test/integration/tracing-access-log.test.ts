/**
 * The access log's `trace_id` is the trace id the spans use. Two real gateways export to the in-test
 * OTLP receiver, one tracing every request (`ratio: 1`), one sampling nothing of its own (`ratio: 0`,
 * parent-based), called with the official openai SDK:
 * - the gateway starts the trace (no traceparent, sampled): the record carries the id of the server
 *   span the receiver got for that request id, and the upstream's traceparent has it too;
 * - a caller's sampled traceparent: the caller's trace id, which the spans continue;
 * - a caller's unsampled traceparent: the caller's trace id; no span is exported;
 * - no traceparent and not sampled: `null`, and no traceparent goes upstream (no trace is started).
 * The answer carries `x-request-id` (the record's `request_id`, the span's `switchyard.request_id`)
 * and no trace header.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js'
import { freePort } from '../support/ports.js'
import { parseTraceparent } from '../../src/runtime/telemetry/tracing/trace-context.js'

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN = '00f067aa0ba902b7'

let up: Upstream
let otlp: OtlpReceiver
const gateways: Record<'all' | 'none', { gw: GatewayProcess; client: OpenAI }> = {} as never

const configFor = (port: number, ratio: number) => (admin: number) => `
admin: { port: ${admin} }
log: { format: json }
telemetry:
  tracing: { endpoint: "${otlp.url}", sampler: { ratio: ${ratio} }, batch: { max_size: 64, interval: 50ms } }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main, access_log: true }]
routes: [{ name: main, rules: [{ name: chat, cluster: up }] }]
clusters: [{ name: up, provider: openai, endpoints: [{ name: e0, url: "${up.url}", api_key: sk-up }] }]
`

before(async () => {
  up = await startOpenAIUpstream('up')
  otlp = await startOtlpReceiver()
  for (const [name, ratio] of [['all', 1], ['none', 0]] as const) {
    const port = await freePort()
    const gw = await startGateway(configFor(port, ratio))
    gateways[name] = { gw, client: new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-caller', maxRetries: 0 }) }
  }
})

after(async () => {
  for (const g of Object.values(gateways)) await g.gw.stop()
  await Promise.all([up?.close(), otlp?.close()])
})

/** The access record of this request id, once written. */
async function accessOf(gw: GatewayProcess, requestId: string): Promise<Record<string, unknown>> {
  const find = () => gw.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((r) => r.log === 'access' && r.request_id === requestId)
  await eventually(() => find() !== undefined, 5000, `the access record of ${requestId}`)
  return find()
}

/** Calls the gateway; returns the answer's headers and the traceparent the upstream got. */
async function call(name: 'all' | 'none', requestId: string, traceparent?: string): Promise<{ headers: Headers; upstreamTraceparent: string | undefined }> {
  const seen = up.requests.length
  const { response } = await gateways[name].client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': requestId, ...(traceparent && { traceparent }) } }).withResponse()
  const tp = up.requests[seen].headers.traceparent
  return { headers: response.headers, upstreamTraceparent: tp === undefined ? undefined : String(tp) }
}

test('the gateway starts the trace: the access record carries the server span\'s trace id, the upstream the same trace', async () => {
  const { headers, upstreamTraceparent } = await call('all', 'al-root')
  assert.equal(headers.get('x-request-id'), 'al-root')
  assert.equal(headers.get('traceparent'), null, 'the answer carries no trace header')
  const spans = await otlp.waitFor((all) => all.some((s) => s.kind === 2 && s.attributes['switchyard.request_id'] === 'al-root'), 10_000, 'the server span of al-root')
  const server = spans.find((s) => s.kind === 2 && s.attributes['switchyard.request_id'] === 'al-root')!
  assert.equal(server.parentSpanId, '')
  const record = await accessOf(gateways.all.gw, 'al-root')
  assert.equal(record.trace_id, server.traceId)
  assert.equal(parseTraceparent(upstreamTraceparent)?.traceId, server.traceId)
})

test('a caller\'s sampled traceparent: the caller\'s trace id in the record and on the spans', async () => {
  await call('all', 'al-caller', `00-${CALLER_TRACE}-${CALLER_SPAN}-01`)
  const spans = await otlp.waitFor((all) => all.some((s) => s.kind === 2 && s.attributes['switchyard.request_id'] === 'al-caller'), 10_000, 'the server span of al-caller')
  assert.equal(spans.find((s) => s.kind === 2 && s.attributes['switchyard.request_id'] === 'al-caller')!.traceId, CALLER_TRACE)
  assert.equal((await accessOf(gateways.all.gw, 'al-caller')).trace_id, CALLER_TRACE)
})

test('not sampled: the caller\'s trace id when it sent one; null, and no traceparent upstream, when it did not', async () => {
  const unsampled = `00-${CALLER_TRACE}-${CALLER_SPAN}-00`
  const a = await call('none', 'al-unsampled', unsampled)
  assert.equal(a.upstreamTraceparent, unsampled, 'the caller\'s traceparent goes upstream unchanged')
  assert.equal((await accessOf(gateways.none.gw, 'al-unsampled')).trace_id, CALLER_TRACE)

  const b = await call('none', 'al-none')
  assert.equal(b.upstreamTraceparent, undefined, 'no trace started, none propagated')
  assert.equal((await accessOf(gateways.none.gw, 'al-none')).trace_id, null)

  // The sampling-0 gateway still follows a caller that sampled (parent-based): its spans and record agree.
  await call('none', 'al-parent', `00-${CALLER_TRACE}-${CALLER_SPAN}-01`)
  await otlp.waitFor((all) => all.some((s) => s.kind === 2 && s.attributes['switchyard.request_id'] === 'al-parent' && s.traceId === CALLER_TRACE), 10_000, 'the server span of al-parent')
  assert.equal((await accessOf(gateways.none.gw, 'al-parent')).trace_id, CALLER_TRACE)
  await gateways.none.gw.stop()
  assert.equal(otlp.spans.filter((s) => s.attributes['switchyard.request_id'] === 'al-unsampled' || s.attributes['switchyard.request_id'] === 'al-none').length, 0, 'nothing exported for the unsampled requests')
})
