import { test } from 'node:test'
import assert from 'node:assert/strict'
import { backoffMs, compileConditions, parseRetryAfter, retryDelayMs } from '../../../src/runtime/resilience/retry.js'
import type { UpstreamFailure } from '../../../src/runtime/types.js'

const failures: Record<string, UpstreamFailure> = {
  connect: { kind: 'connect_failure' },
  reset: { kind: 'reset' },
  timeout: { kind: 'timeout' },
  s500: { kind: 'status', status: 500 },
  s503: { kind: 'status', status: 503 },
  s429: { kind: 'status', status: 429 },
  s409: { kind: 'status', status: 409 },
}

function classify(list: Parameters<typeof compileConditions>[0]): string[] {
  const retryOn = compileConditions(list).test
  return Object.entries(failures).filter(([, f]) => retryOn(f)).map(([name]) => name)
}

const T0 = Date.parse('2025-01-01T00:00:00Z')
const policy = { baseIntervalMs: 25, maxIntervalMs: 250, retryAfterCapMs: 2000 }

// ---- retry_on ----

test('retry_on connect_failure and reset matches only those failure kinds', () => {
  assert.deepStrictEqual(classify(['connect_failure', 'reset']), ['connect', 'reset'])
})

test('retry_on 5xx matches every 5xx status and nothing else', () => {
  assert.deepStrictEqual(classify(['5xx']), ['s500', 's503'])
})

test('retry_on 429 matches only 429', () => {
  assert.deepStrictEqual(classify(['429']), ['s429'])
})

test('retry_on timeout matches per-try timeouts', () => {
  assert.deepStrictEqual(classify(['timeout']), ['timeout'])
})

test('retry_on accepts specific status codes', () => {
  assert.deepStrictEqual(classify([409, 503]), ['s503', 's409'])
})

test('an empty retry_on retries nothing', () => {
  assert.deepStrictEqual(classify([]), [])
})

// ---- backoff ----

test('backoff doubles the ceiling with each retry up to the maximum', () => {
  const top = () => 0.999999
  assert.deepStrictEqual([0, 1, 2, 3, 4, 10].map((n) => Math.round(backoffMs(n, policy, top))), [25, 50, 100, 200, 250, 250])
})

test('backoff is full jitter: a random draw of 0 waits nothing', () => {
  assert.equal(backoffMs(3, policy, () => 0), 0)
})

test('backoff scales the ceiling by the random draw', () => {
  assert.equal(backoffMs(2, policy, () => 0.5), 50)
})

// ---- Retry-After ----

test('Retry-After in seconds is read as milliseconds', () => {
  assert.deepStrictEqual(['0', '3', '1.5', ' 2 '].map((v) => parseRetryAfter(v, T0)), [0, 3000, 1500, 2000])
})

test('Retry-After as an HTTP date is the time left until it', () => {
  assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:04 GMT', T0), 4000)
})

test('Retry-After as a date in the past means no wait', () => {
  assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', T0), 0)
})

test('an absent, empty or unreadable Retry-After gives undefined', () => {
  assert.deepStrictEqual([undefined, '', 'soon', '-1'].map((v) => parseRetryAfter(v, T0)), [undefined, undefined, undefined, undefined])
})

test('the retry delay honours a Retry-After within the cap', () => {
  assert.equal(retryDelayMs(0, '2', policy, T0, () => 0.5), 2000)
})

test('the retry delay is fail_over when Retry-After exceeds the cap', () => {
  assert.equal(retryDelayMs(0, '3', policy, T0, () => 0.5), 'fail_over')
})

test('the retry delay falls back to backoff without a readable Retry-After', () => {
  assert.deepStrictEqual([retryDelayMs(1, undefined, policy, T0, () => 0.5), retryDelayMs(1, 'later', policy, T0, () => 0.5)], [25, 25])
})
