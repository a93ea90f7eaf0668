/**
 * A collector that is down, slow or refusing must cost bounded memory and never a request: under
 * concurrent load (the official openai SDK, two workers) every request succeeds while the in-test
 * OTLP receiver destroys its sockets, answers after seconds, or answers 500; each worker's export
 * queue never holds more than `max_queue` spans; every span is accounted for as exported, failed,
 * dropped or still queued; and once the collector answers again, new spans arrive.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { startOtlpReceiver, type OtlpReceiver, type ReceiverMode } from '../support/otlp-receiver.js'
import { freePort } from '../support/ports.js'

const MAX_QUEUE = 40
const REQUESTS = 240
const CONCURRENCY = 16
/** Spans per request: the server span and one client span. */
const SPANS_PER_REQUEST = 2

let up: Upstream
let gw: GatewayProcess
let otlp: OtlpReceiver
let client: OpenAI
let sent = 0

before(async () => {
  up = await startOpenAIUpstream('up')
  otlp = await startOtlpReceiver()
  const port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
telemetry:
  tracing:
    endpoint: "${otlp.url}"
    batch: { max_size: 10, interval: 20ms, max_queue: ${MAX_QUEUE} }
    timeout: 300ms
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes: [{ name: main, rules: [{ name: chat, match: { path: { exact: /v1/chat/completions } }, cluster: up }] }]
clusters: [{ name: up, provider: openai, endpoints: [{ url: "${up.url}", api_key: sk-up }] }]
`, { workers: 2 })
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-client', maxRetries: 0, timeout: 5000 })
})

after(async () => {
  const code = await gw?.stop()
  await Promise.all([up?.close(), otlp?.close()])
  assert.equal(code, 0)
})

/** The trace counters of /metrics (summed over workers), and the largest queue gauge seen. */
async function traceCounts(): Promise<Record<string, number>> {
  const text = await (await fetch(`${gw.admin}/metrics`)).text()
  const out: Record<string, number> = {}
  for (const m of text.matchAll(/^(switchyard_trace_[a-z_]+) (\S+)$/gm)) out[m[1]] = Number(m[2])
  return out
}

/** REQUESTS chat calls, CONCURRENCY at a time, while sampling the export queue; returns failures and the peak queue. */
async function load(): Promise<{ failures: string[]; peakQueue: number }> {
  const failures: string[] = []
  let peakQueue = 0
  let next = 0
  let running = true
  const sampler = (async () => {
    while (running) {
      peakQueue = Math.max(peakQueue, (await traceCounts()).switchyard_trace_queue_spans ?? 0)
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) {
      next++
      try {
        const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
        if (r.choices[0]?.message?.content === undefined) failures.push('no content')
      } catch (e) {
        failures.push((e as Error).message)
      }
      sent++
    }
  }))
  running = false
  await sampler
  return { failures, peakQueue }
}

for (const [name, mode] of [['down (sockets destroyed)', 'down'], ['slow (answers after 3 s)', { slowMs: 3000 }], ['refusing (500)', 'fail500']] as [string, ReceiverMode][]) {
  test(`collector ${name}: every request succeeds, the queue stays within max_queue, every span is accounted for`, async () => {
    otlp.setMode(mode)
    const { failures, peakQueue } = await load()
    assert.deepStrictEqual(failures, [])
    // Per worker at most MAX_QUEUE; the gauge sums two workers.
    assert.ok(peakQueue <= 2 * MAX_QUEUE, `queue peaked at ${peakQueue} spans`)
    let c: Record<string, number> = {}
    await eventually(async () => {
      c = await traceCounts()
      const settled = c.switchyard_trace_spans_exported_total + c.switchyard_trace_spans_failed_total + c.switchyard_trace_spans_dropped_total + c.switchyard_trace_queue_spans
      return settled === sent * SPANS_PER_REQUEST
    }, 15_000, `every span accounted for (${sent * SPANS_PER_REQUEST} spans)`).catch((e) => assert.fail(`${(e as Error).message}: ${JSON.stringify(c)}`))
    assert.ok(c.switchyard_trace_spans_failed_total + c.switchyard_trace_spans_dropped_total > 0, `the outage shows in the counters: ${JSON.stringify(c)}`)
  })
}

test('once the collector answers again, new spans arrive', async () => {
  otlp.setMode('ok')
  const before = otlp.spans.length
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': 'after-outage' } })
  sent++
  await otlp.waitFor((spans) => spans.slice(before).some((s) => s.attributes['switchyard.request_id'] === 'after-outage'), 15_000, 'the span of a request after the outage')
})
