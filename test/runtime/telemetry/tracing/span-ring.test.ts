/**
 * The SharedArrayBuffer ring between a worker and its export thread: records come out whole, in
 * order, across many wrap-arounds of the data region; a batch never passes its span limit (but always
 * holds one record) nor its byte limit (cut there, the rest left for the next); a full ring refuses
 * without writing, and frees its room as batches are taken; the push that passes half full wakes
 * the consumer; and a producer and consumer on two real threads agree on every byte.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Worker } from 'node:worker_threads'
import { SpanRing } from '../../../../src/runtime/telemetry/tracing/span-ring.js'

const noHead = () => Buffer.alloc(0)
/** A record whose bytes say which one it is: `i` repeated, `len` bytes long. */
const record = (i: number, len: number) => Buffer.alloc(len, i & 0xff)

/** The two sides of one ring, each with its own offset (as in the worker and its export thread). */
function sides(capacity: number): { producer: SpanRing; consumer: SpanRing } {
  const sab = SpanRing.allocate(capacity)
  return { producer: new SpanRing(sab), consumer: new SpanRing(sab) }
}

test('records come out whole and in order across wrap-arounds; a batch holds at most maxSpans spans, at least one record', () => {
  const { producer, consumer } = sides(1000)
  let next = 0
  let expect = 0
  for (let round = 0; round < 200; round++) {
    // lengths that are not multiples of 8, so padding and skip markers are exercised
    while (producer.push(record(next, 13 + (next % 37) * 3), 1 + (next % 3))) next++
    const batch = consumer.take(4, noHead)!
    let o = 0
    let records = 0
    let spans = 0
    while (o < batch.body.length) {
      const len = 13 + (expect % 37) * 3
      assert.deepStrictEqual(batch.body.subarray(o, o + len), record(expect, len), `record ${expect}`)
      spans += 1 + (expect % 3)
      o += len
      expect++
      records++
    }
    assert.equal(spans, batch.spans)
    assert.ok(batch.spans <= 4 && records >= 1, `batch of ${batch.spans} spans in ${records} records`)
  }
  while (consumer.take(1000, noHead) !== undefined) {}
  assert.equal(consumer.spans, 0)
  assert.ok(next > 300, `${next} records (≈20 times the ring) went through`)
})

test('a full ring refuses without writing; taking a batch frees its room; the head is prepended', () => {
  const { producer, consumer } = sides(256)
  let accepted = 0
  while (producer.push(record(accepted, 40), 2)) accepted++
  assert.equal(accepted, 5, '5 records of 48 bytes fit in 256')
  assert.equal(consumer.spans, 10)
  assert.equal(producer.push(record(99, 40), 2), false)
  assert.equal(consumer.spans, 10)
  const batch = consumer.take(4, (len) => Buffer.from(`head:${len}:`))!
  assert.equal(batch.spans, 4)
  assert.deepStrictEqual(batch.body, Buffer.concat([Buffer.from('head:80:'), record(0, 40), record(1, 40)]))
  assert.equal(producer.push(record(5, 40), 2), true)
  assert.equal(producer.push(record(6, 300), 2), false, 'larger than the ring')
  assert.equal(consumer.take(1, noHead)!.spans, 2, 'one record even when it passes maxSpans')
  assert.equal(consumer.take(100, noHead)!.body.length, 3 * 40, "records 3, 4 and 5")
  assert.equal(consumer.take(100, noHead), undefined)
})

test('a batch stops before the record that would pass maxBytes (cut, the rest stays); one record however large', () => {
  const { producer, consumer } = sides(4096)
  for (let i = 0; i < 6; i++) assert.ok(producer.push(record(i, 300), 1))
  const first = consumer.take(100, noHead, 1000)!
  assert.deepStrictEqual([first.spans, first.body.length, first.cut], [3, 900, true])
  const rest = consumer.take(100, noHead, 1000)!
  assert.deepStrictEqual([rest.spans, rest.cut], [3, false], 'the last three fit: nothing left behind')
  assert.deepStrictEqual(rest.body.subarray(0, 300), record(3, 300))
  assert.ok(producer.push(record(7, 2000), 1))
  const big = consumer.take(100, noHead, 1000)!
  assert.deepStrictEqual([big.spans, big.body.length, big.cut], [1, 2000, false], 'a record larger than the limit still leaves, alone')
})

test('the push that takes the ring past half full wakes the consumer, once per crossing', () => {
  const { producer, consumer } = sides(1024)
  const signal = () => Atomics.load(consumer.header, 2 /* SIGNAL */)
  const start = signal()
  assert.ok(producer.push(record(0, 200), 1) && producer.push(record(1, 200), 1))
  assert.equal(signal(), start, '416 of 1024 bytes: below half, nobody woken')
  assert.equal(consumer.halfFull, false)
  assert.ok(producer.push(record(2, 200), 1))
  assert.equal(signal(), start + 1, 'past half: woken')
  assert.equal(consumer.halfFull, true)
  assert.ok(producer.push(record(3, 200), 1))
  assert.equal(signal(), start + 1, 'still past half: not woken again')
  while (consumer.take(100, noHead) !== undefined) {}
  assert.equal(consumer.halfFull, false)
  for (let i = 0; i < 3; i++) producer.push(record(i, 200), 1)
  assert.equal(signal(), start + 2, 'the next crossing wakes it again')
})

test('a producer thread and this consumer agree on every byte of 20,000 records', async () => {
  const sab = SpanRing.allocate(4096)
  const ring = new SpanRing(sab)
  const N = 20_000
  const producer = new Worker(`
    const { workerData } = require('node:worker_threads')
    import(${JSON.stringify(new URL('../../../../src/runtime/telemetry/tracing/span-ring.js', import.meta.url).href)}).then(({ SpanRing }) => {
      const ring = new SpanRing(workerData.sab)
      let i = 0
      while (i < workerData.n) {
        const len = 1 + (i * 7) % 200
        if (ring.push(Buffer.alloc(len, i & 0xff), 1)) i++
      }
    })
  `, { eval: true, workerData: { sab, n: N } }).on('error', (e) => assert.fail(e))
  let got = 0
  const deadline = Date.now() + 60_000
  while (got < N && Date.now() < deadline) {
    const batch = ring.take(64, noHead)
    if (batch === undefined) {
      await new Promise((r) => setImmediate(r))
      continue
    }
    let o = 0
    for (let k = 0; k < batch.spans; k++, got++) {
      const len = 1 + (got * 7) % 200
      const slice = batch.body.subarray(o, o + len)
      if (!slice.equals(Buffer.alloc(len, got & 0xff))) assert.fail(`record ${got} differs`)
      o += len
    }
    assert.equal(o, batch.body.length)
  }
  assert.equal(got, N)
  await producer.terminate()
})
