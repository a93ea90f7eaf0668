/**
 * The export ring's size: with no capturing rule it is max_queue × 768 B; with one, it grows by the
 * largest max_content_bytes, so a queue of content-carrying traces fills to max_queue instead of
 * running out of bytes first (the old fixed sizing dropped them at a fraction of max_queue); never
 * past MAX_RING_BYTES.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_RING_BYTES, RING_BYTES_PER_SPAN, ringBytes } from '../../../../src/runtime/telemetry/tracing/span-exporter.js'
import { SpanRing } from '../../../../src/runtime/telemetry/tracing/span-ring.js'
import { contentTrace } from '../../../support/tracing-fixtures.js'

test('without content the ring is max_queue × 768 B; with it, 1.5 × (max_content_bytes + overhead) more per span; capped', () => {
  assert.equal(ringBytes(2048, 0), 2048 * RING_BYTES_PER_SPAN)
  assert.ok(ringBytes(2048, 8192) > 2048 * (RING_BYTES_PER_SPAN + 1.5 * 8192))
  assert.ok(ringBytes(2048, 8192) < 2048 * (RING_BYTES_PER_SPAN + 1.5 * 8192 + 100))
  assert.equal(ringBytes(2048, 256 * 1024), MAX_RING_BYTES)
})

test('a ring sized for the content budget holds max_queue spans of worst-case content traces; the fixed size did not', () => {
  const maxQueue = 64
  for (const budget of [256, 8192, 64 * 1024]) {
    const trace = contentTrace('r', budget)
    assert.ok(trace.length > 3 * budget, `${trace.length} B`)
    const sized = new SpanRing(SpanRing.allocate(ringBytes(maxQueue, budget)))
    let spans = 0
    while (spans + 2 <= maxQueue && sized.push(trace, 2)) spans += 2
    assert.equal(spans, maxQueue, `budget ${budget}: max_queue is what bounds`)

    // The smallest budget's traces (~1.3 kB for two spans) still fit the fixed 768 B a span.
    if (budget < 8192) continue
    const fixed = new SpanRing(SpanRing.allocate(ringBytes(maxQueue, 0)))
    let before = 0
    while (before + 2 <= maxQueue && fixed.push(trace, 2)) before += 2
    assert.ok(before < maxQueue / 2, `budget ${budget}: the fixed ring refused after ${before} spans`)
  }
})
