import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLeastLatency, LatencyState, type LeastLatencyConfig } from '../../../src/runtime/lb/least-latency.js'
import { createStores } from '../../../src/runtime/stores.js'
import { counts, endpoints, load, picks } from '../../support/lb-endpoints.js'

const config: LeastLatencyConfig = { decayMs: 10_000, defaultLatencyMs: 500 }
const key = (n: string) => `test|mock://${n}`

function lb(names: string[], observe: (s: LatencyState) => void, now = 0) {
  const eps = endpoints(...names)
  const state = new LatencyState(config)
  observe(state)
  return { eps, state, lb: createLeastLatency(eps, state, { now: () => now }) }
}

test('an endpoint with no samples is estimated at the default latency', () => {
  assert.equal(new LatencyState(config).latency(key('a'), 0), 500)
})

test('the first sample sets the estimate', () => {
  const s = new LatencyState(config)
  s.observe(key('a'), 120, 0)
  assert.equal(s.latency(key('a'), 0), 120)
})

test('a slower sample raises the estimate at once (peak)', () => {
  const s = new LatencyState(config)
  s.observe(key('a'), 100, 0)
  s.observe(key('a'), 900, 10)
  assert.equal(s.latency(key('a'), 10), 900)
})

test('a faster sample pulls the estimate down by how much time has passed', () => {
  const s = new LatencyState(config)
  s.observe(key('a'), 1000, 0)
  s.observe(key('a'), 0, 10_000)
  // w = e^-1: 1000 × 0.3679 + 0 × 0.6321
  assert.equal(Math.round(s.latency(key('a'), 10_000)), 368)
})

test('a faster sample right after a peak barely moves the estimate', () => {
  const s = new LatencyState(config)
  s.observe(key('a'), 1000, 0)
  s.observe(key('a'), 100, 1)
  assert.ok(s.latency(key('a'), 1) > 999)
})

test('without new samples the estimate fades, so a once-slow endpoint gets tried again', () => {
  const s = new LatencyState(config)
  s.observe(key('a'), 1000, 0)
  assert.deepStrictEqual([0, 10_000, 20_000].map((t) => Math.round(s.latency(key('a'), t))), [1000, 368, 135])
})

test('retain drops estimates of endpoints that are gone', () => {
  const s = new LatencyState(config)
  s.observe(key('a'), 100, 0)
  s.observe(key('b'), 100, 0)
  s.retain([key('b')])
  assert.deepStrictEqual([...s.estimates.keys()], [key('b')])
})

test('least latency prefers the faster of two idle endpoints', () => {
  const { lb: l } = lb(['a', 'b'], (s) => {
    s.observe(key('a'), 800, 0)
    s.observe(key('b'), 200, 0)
  })
  assert.deepStrictEqual(counts(picks(l, 100)), { b: 100 })
})

test('in-flight requests multiply the cost, so a busy fast endpoint loses to an idle slower one', () => {
  const { lb: l, eps } = lb(['a', 'b'], (s) => {
    s.observe(key('a'), 300, 0)
    s.observe(key('b'), 100, 0)
  })
  load(eps[1], 3) // b: 100 × 4 = 400 > a: 300 × 1
  assert.deepStrictEqual(counts(picks(l, 100)), { a: 100 })
})

test('in-flight counts break the tie between endpoints of equal latency', () => {
  const { lb: l, eps } = lb(['a', 'b'], (s) => {
    s.observe(key('a'), 100, 0)
    s.observe(key('b'), 100, 0)
  })
  load(eps[0], 1)
  assert.deepStrictEqual(counts(picks(l, 100)), { b: 100 })
})

test('an endpoint whose estimate faded to nothing still pays for its in-flight requests', () => {
  const { lb: l, eps } = lb(['a', 'b'], (s) => {
    s.observe(key('a'), 1, 0)
    s.observe(key('b'), 1, 0)
  }, 10_000_000)
  load(eps[0], 2)
  assert.deepStrictEqual(counts(picks(l, 100)), { b: 100 })
})

test('least latency never picks the single slowest of three endpoints', () => {
  const { lb: l } = lb(['a', 'b', 'c'], (s) => {
    s.observe(key('a'), 100, 0)
    s.observe(key('b'), 5000, 0)
    s.observe(key('c'), 120, 0)
  })
  assert.deepStrictEqual(Object.keys(counts(picks(l, 1000))).sort(), ['a', 'c'])
})

test('least latency spreads picks over endpoints that look the same', () => {
  const { lb: l } = lb(['a', 'b', 'c'], () => {})
  assert.deepStrictEqual(Object.keys(counts(picks(l, 1000))).sort(), ['a', 'b', 'c'])
})

test('the sampled pair comes from the injected random source', () => {
  const eps = endpoints('a', 'b', 'c')
  const state = new LatencyState(config)
  state.observe(key('c'), 1, 0)
  const draws = [0, 0.99] // i = 0 (a), j = 1 → skips a → c
  const l = createLeastLatency(eps, state, { now: () => 0, random: () => draws.shift()! })
  assert.equal(l.pick(undefined as never).url, 'mock://c')
})

test('a single endpoint is always picked', () => {
  const { lb: l } = lb(['a'], () => {})
  assert.deepStrictEqual(picks(l, 3), ['a', 'a', 'a'])
})

test('estimates kept in a store survive a rebuild of the balancer', () => {
  const stores = createStores()
  const state = () => stores.lbState('c|least_latency', () => new LatencyState(config))
  state().observe(key('a'), 900, 0)
  state().observe(key('b'), 100, 0)
  const rebuilt = createLeastLatency(endpoints('a', 'b'), state(), { now: () => 0 })
  assert.deepStrictEqual(counts(picks(rebuilt, 50)), { b: 50 })
})
