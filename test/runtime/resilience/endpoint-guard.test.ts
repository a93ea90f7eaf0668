/**
 * The endpoint guard: which endpoints may take a request, from active health, outlier state and the
 * per-endpoint breaker, how outcomes reach each of them, that their state lives in the stores (so a
 * rebuilt guard keeps it), and what /clusters is told.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createEndpointGuard, HEALTH_UNHEALTHY } from '../../../src/runtime/resilience/endpoint-guard.js'
import type { EndpointGuard } from '../../../src/runtime/types.js'
import { LatencyState } from '../../../src/runtime/lb/least-latency.js'
import { createStores } from '../../../src/runtime/stores.js'
import type { CompiledEndpoint, Stores } from '../../../src/runtime/types.js'
import { clusterIR } from '../../support/cluster-ir.js'
import { endpoints } from '../../support/lb-endpoints.js'

const URLS = 'endpoints: [{ url: "http://127.0.0.1:1/v1" }, { url: "http://127.0.0.1:2/v1" }]'
const OUTLIERS = 'outlier_detection: { consecutive_5xx: 2, consecutive_gateway_errors: 2, base_ejection_time: 30s, max_ejection_percent: 100, rate_limit_cooldown: 30s }'
const BREAKER = 'endpoint_circuit_breaker: { consecutive_failures: 2, open_duration: 30s }'

interface Setup {
  readonly guard: EndpointGuard
  readonly a: CompiledEndpoint
  readonly b: CompiledEndpoint
  readonly stores: Stores
}

/** A guard for a two-endpoint cluster with `extra` (YAML keys of the cluster). */
function guarded(extra: string, stores: Stores = createStores(), latency?: LatencyState): Setup {
  const ir = clusterIR(`{ name: c, provider: openai, ${URLS}, ${extra} }`)
  const [a, b] = endpoints('a', 'b')
  const guard = createEndpointGuard(ir, [a, b], stores, latency)
  assert.ok(guard, 'no guard was built')
  return { guard, a, b, stores }
}

const reasons = (g: EndpointGuard, e: CompiledEndpoint) => (g.describe()[e.url] as { reasons: string[] }).reasons
const fail5xx = { kind: 'http5xx' } as const
const gatewayError = { kind: 'gateway_error' } as const

test('a cluster without health check, outlier detection, breaker or latency balancing has no guard', () => {
  assert.equal(createEndpointGuard(clusterIR(`{ name: c, provider: openai, ${URLS} }`), endpoints('a', 'b'), createStores(), undefined), undefined)
})

describe('active health', () => {
  test('an endpoint the health check found unhealthy is neither eligible nor taken', () => {
    const { guard, a } = guarded('health_check: { path: /health }')
    a.stats.health = HEALTH_UNHEALTHY
    assert.deepStrictEqual([guard.eligible(a), guard.take(a), reasons(guard, a)], [false, false, ['health_check']])
  })

  test('an endpoint whose health is still unknown may take requests', () => {
    const { guard, a } = guarded('health_check: { path: /health }')
    assert.deepStrictEqual([guard.eligible(a), guard.take(a)], [true, true])
  })
})

describe('outlier detection', () => {
  test('consecutive 5xx eject the endpoint; its peer stays eligible', () => {
    const { guard, a, b } = guarded(OUTLIERS)
    guard.record(a, fail5xx)
    guard.record(a, fail5xx)
    assert.deepStrictEqual([guard.eligible(a), guard.take(a), reasons(guard, a), guard.eligible(b)], [false, false, ['ejected'], true])
  })

  test('consecutive gateway errors eject the endpoint too', () => {
    const { guard, a } = guarded(OUTLIERS)
    guard.record(a, gatewayError)
    guard.record(a, gatewayError)
    assert.deepStrictEqual(reasons(guard, a), ['ejected'])
  })

  test('a success between failures keeps the endpoint in', () => {
    const { guard, a } = guarded(OUTLIERS)
    guard.record(a, fail5xx)
    guard.record(a, { kind: 'success' })
    guard.record(a, fail5xx)
    assert.deepStrictEqual(reasons(guard, a), [])
  })

  test('a 429 cools the endpoint down instead of ejecting it', () => {
    const { guard, a } = guarded(OUTLIERS)
    guard.record(a, { kind: 'rate_limited' })
    assert.deepStrictEqual([guard.eligible(a), reasons(guard, a)], [false, ['cooldown']])
  })
})

describe('the endpoint breaker', () => {
  test('5xx answers and gateway errors open the breaker', () => {
    const { guard, a } = guarded(BREAKER)
    guard.record(a, fail5xx)
    guard.record(a, gatewayError)
    assert.deepStrictEqual([guard.eligible(a), guard.take(a), reasons(guard, a)], [false, false, ['breaker_open']])
  })

  test('a 429 is not a breaker failure: the upstream is protecting itself', () => {
    const { guard, a } = guarded(BREAKER)
    for (let i = 0; i < 3; i++) guard.record(a, { kind: 'rate_limited' })
    assert.deepStrictEqual(reasons(guard, a), [])
  })

  test('a success resets the run of failures', () => {
    const { guard, a } = guarded(BREAKER)
    guard.record(a, fail5xx)
    guard.record(a, { kind: 'success' })
    guard.record(a, fail5xx)
    assert.deepStrictEqual(reasons(guard, a), [])
  })

  test('after open_duration take() admits one half-open probe; abandoning it frees the slot', async () => {
    const { guard, a } = guarded('endpoint_circuit_breaker: { consecutive_failures: 1, open_duration: 20ms, half_open_probes: 1 }')
    guard.record(a, fail5xx)
    assert.equal(guard.take(a), false, 'the breaker did not open')
    await sleep(40)
    assert.deepStrictEqual([guard.take(a), guard.take(a)], [true, false], 'one probe, and only one, after open_duration')
    guard.abandon(a)
    assert.equal(guard.take(a), true, 'the abandoned probe did not give its slot back')
  })

  test('/clusters shows an open breaker with its open-until on the wall clock', () => {
    const { guard, a } = guarded(BREAKER)
    const before = Date.now()
    guard.record(a, fail5xx)
    guard.record(a, fail5xx)
    const view = (guard.describe()[a.url] as { breaker: { state: string; openUntil: number } }).breaker
    assert.equal(view.state, 'open')
    assert.ok(view.openUntil >= before + 29_000 && view.openUntil <= Date.now() + 31_000, `openUntil ${view.openUntil} is not about 30 s from now`)
  })
})

describe('state in the stores', () => {
  test('a guard rebuilt on the same stores and config keeps the ejections and open breakers', () => {
    const first = guarded(`${OUTLIERS}, ${BREAKER}`)
    first.guard.record(first.a, fail5xx)
    first.guard.record(first.a, fail5xx)
    const rebuilt = guarded(`${OUTLIERS}, ${BREAKER}`, first.stores)
    assert.deepStrictEqual(reasons(rebuilt.guard, rebuilt.a), ['ejected', 'breaker_open'])
  })

  test('a guard rebuilt with a changed outlier config starts that state afresh', () => {
    const first = guarded(OUTLIERS)
    first.guard.record(first.a, fail5xx)
    first.guard.record(first.a, fail5xx)
    const changed = guarded(OUTLIERS.replace('consecutive_5xx: 2', 'consecutive_5xx: 3'), first.stores)
    assert.deepStrictEqual(reasons(changed.guard, changed.a), [])
  })
})

describe('latency', () => {
  test('a success with a latency feeds the latency state of least_latency', () => {
    const latency = new LatencyState({ decayMs: 10_000, defaultLatencyMs: 500 })
    const { guard, a } = guarded('lb: least_latency', createStores(), latency)
    guard.record(a, { kind: 'success', latencyMs: 42 })
    assert.equal(latency.estimates.get(a.key)?.ewma, 42)
  })

  test('a gateway error is no latency sample', () => {
    const latency = new LatencyState({ decayMs: 10_000, defaultLatencyMs: 500 })
    const { guard, a } = guarded('lb: least_latency', createStores(), latency)
    guard.record(a, gatewayError)
    assert.equal(latency.estimates.has(a.key), false)
  })
})

test('/clusters lists every endpoint by URL, eligible with no reasons while healthy', () => {
  const { guard, a, b } = guarded(`${OUTLIERS}, ${BREAKER}`)
  const d = guard.describe() as Record<string, { eligible: boolean; reasons: string[] }>
  assert.deepStrictEqual([Object.keys(d), d[a.url].eligible, d[a.url].reasons, d[b.url].eligible], [[a.url, b.url], true, [], true])
})
