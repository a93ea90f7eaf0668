import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCircuitBreaker, type CircuitBreakerConfig } from '../../../src/runtime/resilience/circuit-breaker.js'

const base: CircuitBreakerConfig = {
  consecutiveFailures: 3,
  failureRatio: 0,
  windowMs: 10_000,
  minRequests: 10,
  openMs: 1000,
  maxOpenMs: 8000,
  halfOpenProbes: 1,
}

function breaker(overrides: Partial<CircuitBreakerConfig> = {}) {
  const transitions: string[] = []
  const b = createCircuitBreaker({ ...base, ...overrides }, (from, to, reason) => transitions.push(`${from}>${to}:${reason}`))
  return { b, transitions }
}

function fail(b: ReturnType<typeof breaker>['b'], n: number, now: number): void {
  for (let i = 0; i < n; i++) b.onFailure(now)
}

test('a new breaker is closed and allows requests', () => {
  const { b } = breaker()
  assert.deepStrictEqual([b.state(0), b.allow(0), b.allow(0)], ['closed', true, true])
})

test('consecutive failures open the breaker and it refuses requests', () => {
  const { b, transitions } = breaker()
  fail(b, 3, 100)
  assert.deepStrictEqual({ state: b.state(100), allowed: b.allow(100), transitions }, { state: 'open', allowed: false, transitions: ['closed>open:consecutive_failures'] })
})

test('a success resets the consecutive failure count', () => {
  const { b } = breaker()
  fail(b, 2, 0)
  b.onSuccess(0)
  fail(b, 2, 0)
  assert.equal(b.state(0), 'closed')
})

test('the failure ratio over the window opens the breaker once the minimum request count is reached', () => {
  const { b, transitions } = breaker({ consecutiveFailures: 0, failureRatio: 0.5, minRequests: 4 })
  b.onSuccess(0)
  b.onFailure(1)
  b.onSuccess(2)
  b.onFailure(3)
  assert.deepStrictEqual(transitions, ['closed>open:failure_ratio'])
})

test('the failure ratio is not judged below the minimum request count', () => {
  const { b } = breaker({ consecutiveFailures: 0, failureRatio: 0.5, minRequests: 4 })
  b.onFailure(0)
  b.onFailure(1)
  b.onFailure(2)
  assert.equal(b.state(2), 'closed')
})

test('failures older than the window no longer count towards the ratio', () => {
  const { b } = breaker({ consecutiveFailures: 0, failureRatio: 0.5, minRequests: 4, windowMs: 10_000 })
  b.onFailure(0)
  b.onFailure(0)
  b.onFailure(0)
  // 20s later the three failures have slid out: 1 failure of 4 is 25 %.
  b.onSuccess(20_000)
  b.onSuccess(20_000)
  b.onSuccess(20_000)
  b.onFailure(20_000)
  assert.deepStrictEqual(b.snapshot(20_000), {
    state: 'closed', consecutiveFailures: 1, windowRequests: 4, windowFailures: 1, openings: 0, openUntil: undefined, probesInFlight: 0,
  })
})

test('an open breaker turns half-open when the open period ends and admits a probe', () => {
  const { b, transitions } = breaker()
  fail(b, 3, 0)
  assert.deepStrictEqual([b.allow(999), b.allow(1000), transitions], [false, true, ['closed>open:consecutive_failures', 'open>half_open:open_elapsed']])
})

test('half-open admits no more concurrent probes than configured', () => {
  const { b } = breaker({ halfOpenProbes: 2 })
  fail(b, 3, 0)
  assert.deepStrictEqual([b.allow(1000), b.allow(1000), b.allow(1000)], [true, true, false])
})

test('a successful probe closes the breaker', () => {
  const { b, transitions } = breaker()
  fail(b, 3, 0)
  b.allow(1000)
  b.onSuccess(1100)
  assert.deepStrictEqual({ state: b.state(1100), last: transitions.at(-1) }, { state: 'closed', last: 'half_open>closed:probes_succeeded' })
})

test('with several probes the breaker closes only when that many have succeeded', () => {
  const { b } = breaker({ halfOpenProbes: 2 })
  fail(b, 3, 0)
  b.allow(1000)
  b.allow(1000)
  b.onSuccess(1100)
  const afterOne = b.state(1100)
  b.onSuccess(1200)
  assert.deepStrictEqual([afterOne, b.state(1200)], ['half_open', 'closed'])
})

test('a failed probe re-opens the breaker for twice as long', () => {
  const { b, transitions } = breaker()
  fail(b, 3, 0)
  b.allow(1000)
  b.onFailure(1000)
  assert.deepStrictEqual({ at2999: b.allow(2999), at3000: b.allow(3000), last: transitions.slice(-2) }, {
    at2999: false, at3000: true, last: ['half_open>open:probe_failed', 'open>half_open:open_elapsed'],
  })
})

test('the open period stops growing at the cap', () => {
  const { b } = breaker()
  let now = 0
  fail(b, 3, now)
  for (let i = 0; i < 6; i++) {
    now = b.snapshot(now).openUntil!
    b.allow(now)
    b.onFailure(now)
  }
  assert.equal(b.snapshot(now).openUntil! - now, 8000)
})

test('the growth is forgotten after the breaker stays closed for the cap', () => {
  const { b } = breaker()
  fail(b, 3, 0)
  b.allow(1000)
  b.onFailure(1000) // second opening: 2s
  b.allow(3000)
  b.onSuccess(3000) // closed at 3000
  fail(b, 3, 3000 + 8000)
  assert.deepStrictEqual(b.snapshot(11_000), {
    state: 'open', consecutiveFailures: 0, windowRequests: 0, windowFailures: 0, openings: 1, openUntil: 12_000, probesInFlight: 0,
  })
})

test('reopening soon after closing keeps growing the open period', () => {
  const { b } = breaker()
  fail(b, 3, 0)
  b.allow(1000)
  b.onSuccess(1000)
  fail(b, 3, 1500)
  assert.equal(b.snapshot(1500).openUntil, 3500)
})

test('results that arrive while open are ignored', () => {
  const { b } = breaker()
  fail(b, 3, 0)
  b.onSuccess(10)
  b.onFailure(20)
  assert.deepStrictEqual(b.snapshot(20), {
    state: 'open', consecutiveFailures: 0, windowRequests: 0, windowFailures: 0, openings: 1, openUntil: 1000, probesInFlight: 0,
  })
})

test('the snapshot shows probes in flight while half-open', () => {
  const { b } = breaker({ halfOpenProbes: 3 })
  fail(b, 3, 0)
  b.allow(1000)
  b.allow(1000)
  assert.deepStrictEqual(b.snapshot(1000), {
    state: 'half_open', consecutiveFailures: 0, windowRequests: 0, windowFailures: 0, openings: 1, openUntil: undefined, probesInFlight: 2,
  })
})

test('with both triggers disabled the breaker never opens', () => {
  const { b } = breaker({ consecutiveFailures: 0, failureRatio: 0 })
  fail(b, 100, 0)
  assert.equal(b.state(0), 'closed')
})

test('a probe abandoned by its client frees its slot instead of blocking the half-open breaker forever', () => {
  const { b } = breaker()
  fail(b, 3, 0)
  assert.equal(b.allow(1000), true) // the one probe
  assert.equal(b.allow(1000), false)
  b.abandon(1001)
  assert.deepStrictEqual([b.state(1001), b.allow(1002)], ['half_open', true])
  b.abandon(1003)
  b.abandon(1003) // more abandons than probes never go below zero
  assert.equal(b.snapshot(1003).probesInFlight, 0)
})
