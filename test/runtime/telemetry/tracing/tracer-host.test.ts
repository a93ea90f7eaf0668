/**
 * A worker's tracer host with its real export thread and the in-test OTLP receiver: queued traces
 * arrive as decodable spans with the worker's resource; an unchanged section keeps the exporter, a
 * changed one replaces it (the old one flushed) while the counters carry on; a full queue drops whole
 * traces and counts them; a collector that refuses is counted as failed; removing tracing stops the
 * export thread; a ring half full of content-carrying traces is sent without waiting for the
 * interval; no export request passes 4 MiB (a larger batch is split, the rest sent at once).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type { TracingIR } from '../../../../src/compiler/ir.js'
import { TracerHost } from '../../../../src/runtime/telemetry/tracing/tracer-host.js'
import { startOtlpReceiver, type OtlpReceiver } from '../../../support/otlp-receiver.js'
import { MAX_EXPORT_BYTES } from '../../../../src/runtime/telemetry/tracing/otlp-http.js'
import { contentTrace, encodedTrace as encoded } from '../../../support/tracing-fixtures.js'

let otlp: OtlpReceiver
before(async () => {
  otlp = await startOtlpReceiver()
})
after(() => otlp.close())

const cfg = (over: Partial<TracingIR> = {}): TracingIR => ({
  endpoint: otlp.url, headers: {}, sampleRatio: 1, parentBased: true, serviceName: 'host-test', resourceAttributes: {},
  maxBatchSize: 512, batchIntervalMs: 5000, maxQueueSize: 2048, exportTimeoutMs: 2000, ...over,
})

const ids = (prefix: string) => otlp.spans.filter((s) => s.kind === 2 && String(s.attributes['switchyard.request_id']).startsWith(prefix)).map((s) => s.attributes['switchyard.request_id'])

test('queued traces arrive on a flush (not before the interval otherwise); the section unchanged keeps the exporter', async () => {
  const host = new TracerHost()
  const exporter = host.tracerFor(cfg())
  for (let i = 0; i < 10; i++) {
    assert.ok(exporter.accepts(2))
    exporter.add(encoded(`a-${i}`), 2)
  }
  assert.equal(exporter.length, 20)
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(ids('a-').length, 0, 'a batch of 20 spans waits for its 5 s interval')
  assert.equal(host.tracerFor(cfg()), exporter)
  await host.flush()
  assert.deepStrictEqual(ids('a-'), Array.from({ length: 10 }, (_, i) => `a-${i}`))
  assert.equal(otlp.spans.find((s) => s.attributes['switchyard.request_id'] === 'a-0')!.resource['service.name'], 'host-test')
  assert.deepStrictEqual(host.counts, { exported: 20, failed: 0, dropped: 0 })
  assert.equal(exporter.length, 0)
  host.close()
})

test('a full batch leaves without a flush; a full queue drops whole traces; a new section replaces the exporter, counters carry on', async () => {
  const host = new TracerHost()
  const first = host.tracerFor(cfg({ maxBatchSize: 8 }))
  for (let i = 0; i < 4; i++) first.add(encoded(`b-${i}`), 2)
  await otlp.waitFor(() => ids('b-').length === 4, 5000, 'the full batch')
  const second = host.tracerFor(cfg({ maxQueueSize: 5 }))
  assert.notEqual(second, first)
  let dropped = 0
  for (let i = 0; i < 4; i++) {
    if (second.accepts(2)) second.add(encoded(`c-${i}`), 2)
    else dropped++
  }
  assert.equal(dropped, 2, 'two traces of two spans fit under max_queue 5')
  await host.flush()
  assert.deepStrictEqual(ids('c-'), ['c-0', 'c-1'])
  assert.deepStrictEqual(host.counts, { exported: 12, failed: 0, dropped: 4 })
  host.close()
})

test('a refusing collector is counted as failed; closing stops the export thread', async () => {
  const host = new TracerHost()
  const exporter = host.tracerFor(cfg())
  otlp.setMode('fail500')
  try {
    for (let i = 0; i < 3; i++) exporter.add(encoded(`d-${i}`), 2)
    await host.flush()
    assert.deepStrictEqual(host.counts, { exported: 0, failed: 6, dropped: 0 })
  } finally {
    otlp.setMode('ok')
  }
  host.close()
  await exporter.shutdown()
  assert.equal(exporter.accepts(2), false, 'a closed exporter queues nothing')
  assert.equal(host.counts.dropped, 2)
})

test('a ring half full of content-carrying traces is sent at once, long before the interval and max_size', async () => {
  const host = new TracerHost()
  // 64 spans of a 16 kB budget: a ring of ~1.6 MB; 25 traces of ~49 kB pass half of it with 50 spans.
  const exporter = host.tracerFor(cfg({ maxQueueSize: 64, maxBatchSize: 512, batchIntervalMs: 60_000 }), 16 * 1024)
  assert.notEqual(host.tracerFor(cfg({ maxQueueSize: 64, maxBatchSize: 512, batchIntervalMs: 60_000 }), 8 * 1024), exporter, 'a new content budget resizes the ring')
  const sized = host.tracerFor(cfg({ maxQueueSize: 64, maxBatchSize: 512, batchIntervalMs: 60_000 }), 16 * 1024)
  const started = Date.now()
  let queued = 0
  for (let i = 0; i < 25; i++) {
    assert.ok(sized.accepts(2), `trace ${i} accepted`)
    sized.add(contentTrace(`h-${i}`, 16 * 1024), 2)
    queued++
  }
  await otlp.waitFor(() => ids('h-').length > 0, 3000, 'a half-full ring sent without a flush')
  assert.ok(Date.now() - started < 3000)
  assert.equal(host.counts.dropped, 0, `${queued} traces queued, none dropped`)
  await host.flush()
  assert.equal(ids('h-').length, 25)
  host.close()
})

test('no export request body passes 4 MiB: a larger batch is split and the rest follows at once', async () => {
  const host = new TracerHost()
  const budget = 200 * 1024
  const exporter = host.tracerFor(cfg({ maxQueueSize: 64, maxBatchSize: 512, batchIntervalMs: 60_000 }), budget)
  const from = otlp.rawBodies.length
  // 12 traces of ~600 kB: ~7 MB, under half of the ~19 MB ring (so only the flush sends them).
  for (let i = 0; i < 12; i++) {
    assert.ok(exporter.accepts(2))
    exporter.add(contentTrace(`s-${i}`, budget), 2)
  }
  await host.flush()
  const bodies = otlp.rawBodies.slice(from)
  assert.deepStrictEqual(ids('s-'), Array.from({ length: 12 }, (_, i) => `s-${i}`), 'every trace, in order')
  assert.ok(bodies.length >= 2, `${bodies.length} requests`)
  for (const b of bodies) assert.ok(b.length <= MAX_EXPORT_BYTES, `a request of ${b.length} bytes`)
  assert.ok(bodies[0].length > MAX_EXPORT_BYTES - 700 * 1024, 'the first request was filled up to the cut')
  host.close()
})
