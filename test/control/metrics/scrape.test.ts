import { test } from 'node:test'
import assert from 'node:assert/strict'
import { renderMetrics } from '../../../src/control/metrics/scrape.js'
import { CounterFamily, HistogramFamily } from '../../../src/runtime/telemetry/metric-store.js'
import type { WorkerMetricsReport } from '../../../src/runtime/telemetry/request-metrics.js'

function worker(requests: number, latencies: number[]): WorkerMetricsReport {
  const c = new CounterFamily('switchyard_requests_total', 'Requests.', ['route'])
  c.add('chat', ['chat']).value = requests
  const h = new HistogramFamily('switchyard_request_duration_seconds', 'Duration.', ['route'], [0.1, 1])
  const s = h.add('chat', ['chat'])
  for (const v of latencies) h.observe(s, v)
  return { families: [c.toJSON(), h.toJSON()], sketches: [] }
}

test('one scrape sums counters and histogram buckets over the workers, series by series', async () => {
  const text = await renderMetrics([worker(3, [0.05, 2]), worker(4, [0.5])], [])
  const lines = text.split('\n').filter((l) => l.startsWith('switchyard_'))
  assert.deepStrictEqual(lines, [
    'switchyard_requests_total{route="chat"} 7',
    'switchyard_request_duration_seconds_bucket{route="chat",le="0.1"} 1',
    'switchyard_request_duration_seconds_bucket{route="chat",le="1"} 2',
    'switchyard_request_duration_seconds_bucket{route="chat",le="+Inf"} 3',
    'switchyard_request_duration_seconds_sum{route="chat"} 2.55',
    'switchyard_request_duration_seconds_count{route="chat"} 3',
  ])
  assert.match(text, /^# TYPE switchyard_request_duration_seconds histogram$/m)
  assert.match(text, /^process_resident_memory_bytes \d+/m)
})

test('label values are escaped in the text format', async () => {
  const c = new CounterFamily('switchyard_requests_total', 'Requests.', ['route'])
  c.add('x', ['say "hi"\\now']).value = 1
  const text = await renderMetrics([{ families: [c.toJSON()], sketches: [] }], [])
  assert.match(text, /^switchyard_requests_total\{route="say \\"hi\\"\\\\now"\} 1$/m)
})
