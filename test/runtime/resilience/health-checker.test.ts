/**
 * Health checks against real local servers on port 0, with intervals of tens of ms. Jitter is
 * zeroed through the injected random so the schedule is predictable.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { agent, serve, waitFor } from '../../support/local-server.js'
import { quietPeriod } from '../../support/eventually.js'
import { compileStatusMatcher, createHealthChecker, type HealthCheckConfig, type HealthTarget } from '../../../src/runtime/resilience/health-checker.js'

const config: HealthCheckConfig = {
  intervalMs: 20,
  jitterMs: 50,
  timeoutMs: 1000,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  method: 'GET',
  path: '/health',
  expectedStatuses: ['200-299'],
  headers: {},
}

/** Every target gets this test's own connection pool (see agent()). */
function checker(t: TestContext, overrides: Partial<HealthCheckConfig> = {}) {
  const changes: string[] = []
  const hc = createHealthChecker({ ...config, ...overrides }, {
    random: () => 0,
    onChange: (key, from, to, err) => changes.push(`${key}:${from}>${to}${err ? ` (${err})` : ''}`),
  })
  t.after(() => hc.stop())
  const dispatcher = agent(t)
  const start = (targets: HealthTarget[]) => hc.start(targets.map((x) => ({ dispatcher, ...x })))
  const update = (targets: HealthTarget[]) => hc.update(targets.map((x) => ({ dispatcher, ...x })))
  return { hc, changes, start, update }
}

test('an endpoint answering 200 becomes healthy on its first check', async (t) => {
  const origin = await serve(t, (_req, res) => res.end('ok'))
  const { hc, changes, start } = checker(t)
  start([{ key: 'c|a', origin }])
  await waitFor(() => hc.status('c|a') !== 'unknown')
  assert.deepStrictEqual({ status: hc.status('c|a'), changes }, { status: 'healthy', changes: ['c|a:unknown>healthy'] })
})

test('an endpoint answering 500 becomes unhealthy with the status as its last error', async (t) => {
  const origin = await serve(t, (_req, res) => {
    res.statusCode = 500
    res.end()
  })
  const { hc, start } = checker(t)
  start([{ key: 'c|a', origin }])
  await waitFor(() => hc.status('c|a') !== 'unknown')
  assert.deepStrictEqual({ status: hc.snapshot()['c|a'].status, lastError: hc.snapshot()['c|a'].lastError }, { status: 'unhealthy', lastError: 'unexpected status 500' })
})

test('an endpoint that never answers fails by timeout', async (t) => {
  const origin = await serve(t, () => {})
  const { hc, start } = checker(t, { timeoutMs: 50 })
  start([{ key: 'c|a', origin }])
  await waitFor(() => hc.status('c|a') !== 'unknown')
  assert.deepStrictEqual({ status: hc.status('c|a'), lastError: hc.snapshot()['c|a'].lastError }, { status: 'unhealthy', lastError: 'timed out after 50ms' })
})

test('a refused connection makes the endpoint unhealthy', async (t) => {
  const origin = await serve(t, () => {})
  const dead = origin.replace(/:\d+$/, ':1')
  const { hc, start } = checker(t)
  start([{ key: 'c|dead', origin: dead }])
  await waitFor(() => hc.status('c|dead') !== 'unknown')
  assert.equal(hc.status('c|dead'), 'unhealthy')
})

test('a flipping endpoint goes unhealthy and back after the thresholds', async (t) => {
  let failing = false
  let failuresServed = 0
  let successesAfter = 0
  const origin = await serve(t, (_req, res) => {
    if (failing) failuresServed++
    else if (failuresServed > 0) successesAfter++
    res.statusCode = failing ? 503 : 200
    res.end()
  })
  const { hc, changes, start } = checker(t)
  start([{ key: 'c|a', origin }])
  await waitFor(() => hc.status('c|a') === 'healthy')
  failing = true
  await waitFor(() => hc.status('c|a') === 'unhealthy')
  const failuresToFlip = failuresServed
  failing = false
  await waitFor(() => hc.status('c|a') === 'healthy')
  assert.deepStrictEqual({ changes, failuresToFlip, successesAfter }, {
    changes: ['c|a:unknown>healthy', 'c|a:healthy>unhealthy (unexpected status 503)', 'c|a:unhealthy>healthy'],
    failuresToFlip: 2,
    successesAfter: 2,
  })
})

test('checks use the configured method and path with config headers and endpoint headers', async (t) => {
  const seen: { method?: string; url?: string; probe?: string; auth?: string }[] = []
  const origin = await serve(t, (req, res) => {
    seen.push({ method: req.method, url: req.url, probe: req.headers['x-probe'] as string, auth: req.headers.authorization })
    res.statusCode = 204
    res.end()
  })
  const { hc, start } = checker(t, { method: 'HEAD', path: '/v1/models?check=1', expectedStatuses: [204], headers: { 'x-probe': 'switchyard' } })
  start([{ key: 'c|a', origin, headers: { authorization: 'Bearer k' } }])
  await waitFor(() => hc.status('c|a') !== 'unknown')
  assert.deepStrictEqual({ status: hc.status('c|a'), first: seen[0] }, {
    status: 'healthy',
    first: { method: 'HEAD', url: '/v1/models?check=1', probe: 'switchyard', auth: 'Bearer k' },
  })
})

test('update stops checking removed endpoints and forgets them', async (t) => {
  let hitsA = 0
  const a = await serve(t, (_req, res) => { hitsA++; res.end() })
  const b = await serve(t, (_req, res) => res.end())
  const { hc, start, update } = checker(t)
  start([{ key: 'c|a', origin: a }])
  await waitFor(() => hc.status('c|a') === 'healthy')
  update([{ key: 'c|b', origin: b }])
  const hitsAtUpdate = hitsA
  await waitFor(() => hc.status('c|b') === 'healthy')
  // An absence (no more checks of A): a fixed wait, not a poll.
  await quietPeriod(60)
  assert.deepStrictEqual({ keys: Object.keys(hc.snapshot()), aStatus: hc.status('c|a'), newHitsOnA: hitsA - hitsAtUpdate <= 1 }, {
    keys: ['c|b'], aStatus: 'unknown', newHitsOnA: true,
  })
})

test('update keeps the status of endpoints still in use', async (t) => {
  const a = await serve(t, (_req, res) => res.end())
  const { hc, changes, start, update } = checker(t)
  start([{ key: 'c|a', origin: a }])
  await waitFor(() => hc.status('c|a') === 'healthy')
  update([{ key: 'c|a', origin: a }])
  assert.deepStrictEqual({ status: hc.status('c|a'), changes }, { status: 'healthy', changes: ['c|a:unknown>healthy'] })
})

test('stop ends all checks', async (t) => {
  let hits = 0
  const a = await serve(t, (_req, res) => { hits++; res.end() })
  const { hc, start } = checker(t)
  start([{ key: 'c|a', origin: a }])
  await waitFor(() => hits >= 1)
  hc.stop()
  const atStop = hits
  // An absence (no check after stop): a fixed wait, not a poll.
  await quietPeriod(80)
  assert.deepStrictEqual({ extra: hits - atStop <= 1, snapshot: hc.snapshot() }, { extra: true, snapshot: {} })
})

test('an endpoint never checked reports unknown', () => {
  const hc = createHealthChecker(config)
  assert.equal(hc.status('nope'), 'unknown')
})

test('expected statuses accept single codes and inclusive ranges', () => {
  const ok = compileStatusMatcher([204, '300-302', '418'])
  assert.deepStrictEqual([199, 200, 204, 299, 300, 302, 303, 418].map(ok), [false, false, true, false, true, true, false, true])
})

test('an invalid expected status is rejected when the checker is created', () => {
  assert.throws(() => compileStatusMatcher(['2xx']), { message: 'invalid expected status "2xx" (want a code like 200 or a range like 200-299)' })
})
