import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createOutlierDetector, type OutlierDetectionConfig, type Outcome } from '../../../src/runtime/resilience/outlier-detector.js'

const base: OutlierDetectionConfig = {
  consecutive5xx: 3,
  consecutiveGatewayErrors: 2,
  latencyFactor: 0,
  latencyMinSamples: 3,
  latencyMinEndpoints: 3,
  latencyAlpha: 0.5,
  baseEjectionMs: 10_000,
  maxEjectionMs: 30_000,
  maxEjectionPercent: 50,
  defaultCooldownMs: 5000,
  maxCooldownMs: 60_000,
}

const T0 = Date.parse('2025-01-01T00:00:00Z')

function detector(overrides: Partial<OutlierDetectionConfig> = {}, keys = ['a', 'b', 'c', 'd']) {
  const ejections: string[] = []
  const d = createOutlierDetector({ ...base, ...overrides }, keys, (key, reason, until) => ejections.push(`${key}:${reason}:${until - T0}`))
  const record = (key: string, outcome: Outcome, n = 1, now = T0) => {
    for (let i = 0; i < n; i++) d.record(key, outcome, now)
  }
  return { d, ejections, record }
}

const ok = { kind: 'success' } as const
const e5xx = { kind: 'http5xx' } as const
const gw = { kind: 'gateway_error' } as const

test('an endpoint without failures is eligible', () => {
  const { d } = detector()
  assert.deepStrictEqual(d.eligible('a', T0), { ok: true })
})

test('consecutive 5xx answers eject the endpoint for the base ejection time', () => {
  const { d, record, ejections } = detector()
  record('a', e5xx, 3)
  assert.deepStrictEqual({ eligible: d.eligible('a', T0), ejections }, {
    eligible: { ok: false, reason: 'ejected', until: T0 + 10_000 },
    ejections: ['a:consecutive_5xx:10000'],
  })
})

test('a success between 5xx answers resets the count', () => {
  const { d, record } = detector()
  record('a', e5xx, 2)
  record('a', ok)
  record('a', e5xx, 2)
  assert.deepStrictEqual(d.eligible('a', T0), { ok: true })
})

test('consecutive gateway errors eject with their own threshold', () => {
  const { ejections, record } = detector()
  record('a', gw, 2)
  assert.deepStrictEqual(ejections, ['a:consecutive_gateway_errors:10000'])
})

test('a plain 5xx resets the gateway error count but counts as a 5xx', () => {
  const { d, record, ejections } = detector({ consecutive5xx: 4 })
  record('a', gw)
  record('a', e5xx)
  record('a', gw)
  assert.deepStrictEqual({ ejections, a: d.snapshot(T0).a }, {
    ejections: [],
    a: { state: 'active', until: undefined, ejections: 0, consecutive5xx: 3, consecutiveGatewayErrors: 1, latencyEwmaMs: undefined, latencySamples: 0 },
  })
})

test('an ejected endpoint is eligible again when its ejection ends', () => {
  const { d, record } = detector()
  record('a', e5xx, 3)
  assert.deepStrictEqual([d.eligible('a', T0 + 9_999).ok, d.eligible('a', T0 + 10_000).ok], [false, true])
})

test('each further ejection lasts base time × number of ejections', () => {
  const { record, ejections } = detector()
  record('a', e5xx, 3, T0)
  record('a', e5xx, 3, T0 + 10_000)
  assert.deepStrictEqual(ejections, ['a:consecutive_5xx:10000', 'a:consecutive_5xx:30000'])
})

test('the ejection time is capped', () => {
  const { record, ejections } = detector()
  let now = T0
  for (let i = 0; i < 5; i++) {
    record('a', e5xx, 3, now)
    now += 30_000
  }
  assert.equal(ejections.at(-1), `a:consecutive_5xx:${4 * 30_000 + 30_000}`)
})

test('the ejection count decays after a long healthy stretch', () => {
  const { record, d } = detector()
  record('a', e5xx, 3, T0)
  record('a', e5xx, 3, T0 + 10_000) // 2nd: until T0+30s
  record('a', e5xx, 3, T0 + 30_000 + 60_000) // two max-ejection periods later: count 2 → 0, then 1
  assert.deepStrictEqual(d.eligible('a', T0 + 90_000), { ok: false, reason: 'ejected', until: T0 + 100_000 })
})

test('no more than max ejection percent of endpoints are ejected at once', () => {
  const { d, record } = detector()
  for (const k of ['a', 'b', 'c']) record(k, e5xx, 3)
  assert.deepStrictEqual(['a', 'b', 'c', 'd'].map((k) => d.eligible(k, T0).ok), [false, false, true, true])
})

test('one endpoint may be ejected even when the percentage rounds down to zero', () => {
  const { d, record } = detector({ maxEjectionPercent: 10 })
  record('a', e5xx, 3)
  record('b', e5xx, 3)
  assert.deepStrictEqual(['a', 'b'].map((k) => d.eligible(k, T0).ok), [false, true])
})

test('the last endpoint of a cluster is never ejected', () => {
  const { d, record } = detector({ maxEjectionPercent: 100 }, ['a', 'b'])
  record('a', e5xx, 3)
  record('b', e5xx, 3)
  assert.deepStrictEqual(['a', 'b'].map((k) => d.eligible(k, T0).ok), [false, true])
})

test('a single-endpoint cluster never ejects', () => {
  const { d, record } = detector({}, ['only'])
  record('only', gw, 10)
  assert.deepStrictEqual(d.eligible('only', T0), { ok: true })
})

test('a 429 never ejects but cools the endpoint down for Retry-After seconds', () => {
  const { d, record, ejections } = detector()
  record('a', { kind: 'rate_limited', retryAfter: '7' }, 10)
  assert.deepStrictEqual({ eligible: d.eligible('a', T0), ejections }, { eligible: { ok: false, reason: 'cooldown', until: T0 + 7000 }, ejections: [] })
})

test('a 429 Retry-After given as an HTTP date is honoured', () => {
  const { d, record } = detector()
  record('a', { kind: 'rate_limited', retryAfter: new Date(T0 + 12_000).toUTCString() })
  assert.deepStrictEqual(d.eligible('a', T0), { ok: false, reason: 'cooldown', until: T0 + 12_000 })
})

test('a 429 without Retry-After cools down for the default time', () => {
  const { d, record } = detector()
  record('a', { kind: 'rate_limited' })
  assert.deepStrictEqual(d.eligible('a', T0), { ok: false, reason: 'cooldown', until: T0 + 5000 })
})

test('a 429 with an unreadable Retry-After cools down for the default time', () => {
  const { d, record } = detector()
  record('a', { kind: 'rate_limited', retryAfter: 'soon' })
  assert.deepStrictEqual(d.eligible('a', T0), { ok: false, reason: 'cooldown', until: T0 + 5000 })
})

test('a 429 cooldown is capped', () => {
  const { d, record } = detector()
  record('a', { kind: 'rate_limited', retryAfter: '86400' })
  assert.deepStrictEqual(d.eligible('a', T0), { ok: false, reason: 'cooldown', until: T0 + 60_000 })
})

test('a 429 does not reset the consecutive 5xx count', () => {
  const { d, record } = detector()
  record('a', e5xx, 2)
  record('a', { kind: 'rate_limited', retryAfter: '0' })
  record('a', e5xx)
  assert.equal(d.eligible('a', T0).ok, false)
})

function latencyCluster(slowMs: number) {
  const t = detector({ latencyFactor: 3 })
  for (const k of ['a', 'b', 'c']) t.record(k, { kind: 'success', latencyMs: 100 }, 3)
  t.record('d', { kind: 'success', latencyMs: slowMs }, 3)
  return t
}

test('an endpoint much slower than the cluster median is ejected as a latency outlier', () => {
  const { ejections } = latencyCluster(1000)
  assert.deepStrictEqual(ejections, ['d:latency:10000'])
})

test('an endpoint somewhat slower than the median is not a latency outlier', () => {
  const { ejections } = latencyCluster(250)
  assert.deepStrictEqual(ejections, [])
})

test('latency is not judged before enough endpoints have enough samples', () => {
  const { record, ejections } = detector({ latencyFactor: 3 })
  record('a', { kind: 'success', latencyMs: 100 }, 3)
  record('b', { kind: 'success', latencyMs: 100 }, 2)
  record('d', { kind: 'success', latencyMs: 5000 }, 3)
  assert.deepStrictEqual(ejections, [])
})

test('the snapshot lists every endpoint with its state and counters', () => {
  const { d, record } = detector({ latencyFactor: 3 }, ['a', 'b', 'c'])
  record('a', e5xx, 3)
  record('b', { kind: 'rate_limited', retryAfter: '2' })
  record('c', { kind: 'success', latencyMs: 100 })
  record('c', { kind: 'success', latencyMs: 200 })
  assert.deepStrictEqual(d.snapshot(T0), {
    a: { state: 'ejected', until: T0 + 10_000, ejectedFor: 'consecutive_5xx', ejections: 1, consecutive5xx: 0, consecutiveGatewayErrors: 0, latencyEwmaMs: undefined, latencySamples: 0 },
    b: { state: 'cooldown', until: T0 + 2000, ejections: 0, consecutive5xx: 0, consecutiveGatewayErrors: 0, latencyEwmaMs: undefined, latencySamples: 0 },
    c: { state: 'active', until: undefined, ejections: 0, consecutive5xx: 0, consecutiveGatewayErrors: 0, latencyEwmaMs: 150, latencySamples: 2 },
  })
})

test('update keeps the state of surviving endpoints and forgets removed ones', () => {
  const { d, record } = detector()
  record('a', e5xx, 3)
  d.update(['a', 'e'])
  assert.deepStrictEqual(Object.fromEntries(Object.entries(d.snapshot(T0)).map(([k, v]) => [k, v.state])), { a: 'ejected', e: 'active' })
})

test('results for unknown keys are ignored and unknown keys are eligible', () => {
  const { d } = detector()
  d.record('zzz', e5xx, T0)
  assert.deepStrictEqual(d.eligible('zzz', T0), { ok: true })
})
