/** Single flight: one leader per key, waiters get its entry, the wait is bounded. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Flight, SingleFlight } from '../../../src/runtime/cache/single-flight.js'

test('the first caller leads and the others get its entry', async () => {
  const sf = new SingleFlight()
  const lead = sf.join('k', 10_000, 100)
  assert.ok(lead instanceof Flight)
  const waiters = Array.from({ length: 49 }, () => sf.join('k', 10_000, 100))
  assert.ok(waiters.every((w) => w instanceof Promise))
  sf.settle(lead, Buffer.from('answer'))
  const got = await Promise.all(waiters as Promise<Buffer | undefined>[])
  assert.deepStrictEqual(new Set(got.map((b) => b?.toString())), new Set(['answer']))
  assert.equal(sf.size, 0)
})

test('a leader that stored nothing sends its waiters upstream', async () => {
  const sf = new SingleFlight()
  const lead = sf.join('k', 10_000, 100) as Flight
  const w = sf.join('k', 10_000, 100)
  sf.settle(lead, undefined)
  assert.equal(await w, undefined)
})

test('waiters beyond max_waiters, and all waiters after the wait, go upstream themselves', async () => {
  const sf = new SingleFlight()
  const lead = sf.join('k', 50, 1) as Flight
  const first = sf.join('k', 50, 1)
  assert.equal(await sf.join('k', 50, 1), undefined, 'over max_waiters: at once')
  const t0 = performance.now()
  assert.equal(await first, undefined)
  assert.ok(performance.now() - t0 >= 40)
  // A new request leads a new flight; the old leader settling late leaves that one alone.
  const next = sf.join('k', 10_000, 1)
  assert.ok(next instanceof Flight)
  sf.settle(lead, Buffer.from('late'))
  assert.equal(sf.size, 1)
  sf.settle(next, undefined)
})
