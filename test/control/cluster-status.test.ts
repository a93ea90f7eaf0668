/**
 * /clusters as data: the shared counters, health checks and load scrapes of the main thread and
 * each worker's reply, folded into one entry per cluster of the config.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig } from '../../src/compiler/index.js'
import { describeClusters, type ClusterStatusInputs } from '../../src/control/cluster-status.js'
import { clusterStatsAt, endpointStatsAt, SharedStateTable } from '../../src/shared/shared-state.js'

const r = compileConfig([{ name: 'c.yaml', text: `
listeners: [{ name: api, port: 8080, route_table: main }]
routes: [{ name: main, rules: [{ cluster: mock }, { cluster: fleet }] }]
clusters:
  - { name: mock, provider: mock }
  - { name: fleet, provider: openai, lb: weighted, endpoints: [{ url: "http://127.0.0.1:1/v1", weight: 3 }, { url: "http://127.0.0.1:2/v1" }] }
` }], { source: 'test', env: {} })
assert.ok(r.ok, JSON.stringify(r.diagnostics))
const ir = r.ir
const E1 = 'http://127.0.0.1:1/v1'
const E2 = 'http://127.0.0.1:2/v1'

function inputs(over: Partial<ClusterStatusInputs> = {}): ClusterStatusInputs {
  const table = new SharedStateTable(16)
  const slots = table.assign(['cluster:mock', 'mock|mock://mock', 'cluster:fleet', `fleet|${E1}`, `fleet|${E2}`])
  return { ir, slots, cells: new Int32Array(table.buffer), health: {}, loads: {}, workers: new Map(), ...over }
}

test('counters from the shared table, per cluster and per endpoint, in config order', () => {
  const inp = inputs()
  const e1 = endpointStatsAt(inp.cells, inp.slots[`fleet|${E1}`])!
  e1.start()
  e1.start()
  e1.finish()
  e1.fail()
  e1.observeLatency(12.3456)
  const fleet = clusterStatsAt(inp.cells, inp.slots['cluster:fleet'])!
  fleet.start()
  fleet.overflow()
  assert.ok(fleet.tryRetry(5))
  assert.deepStrictEqual(describeClusters(inp), {
    mock: {
      provider: 'mock', lb: 'round_robin', inflight: 0, active_retries: 0, overflows: 0,
      endpoints: [{ url: 'mock://mock', weight: 1, inflight: 0, requests: 0, failures: 0, workers: {} }],
    },
    fleet: {
      provider: 'openai', lb: 'weighted', inflight: 1, active_retries: 1, overflows: 1,
      endpoints: [
        { url: E1, weight: 3, inflight: 1, requests: 2, failures: 1, latency_ewma_ms: 12.35, workers: {} },
        { url: E2, weight: 1, inflight: 0, requests: 0, failures: 0, workers: {} },
      ],
    },
  })
})

test('health checks and load scrapes attach to the endpoint they are keyed by', () => {
  const health = { fleet: { [`fleet|${E2}`]: { status: 'unhealthy' as const, lastError: 'HTTP 503', lastCheckedAt: 1700000000000 } } }
  const loads = { fleet: { [`fleet|${E1}`]: { load: 4, at: '2024-01-01T00:00:00.000Z' } } }
  const out = describeClusters(inputs({ health, loads })) as Record<string, { endpoints: Record<string, unknown>[] }>
  assert.deepStrictEqual(out.fleet.endpoints.map((e) => [e.url, e.health, e.load_scrape]), [
    [E1, undefined, { load: 4, at: '2024-01-01T00:00:00.000Z' }],
    [E2, { status: 'unhealthy', lastError: 'HTTP 503', lastCheckedAt: 1700000000000 }, undefined],
  ])
  assert.ok(!('health' in out.mock.endpoints[0]) && !('load_scrape' in out.mock.endpoints[0]))
})

test('each worker\'s view of an endpoint under worker-<id>; an endpoint a worker does not describe counts as eligible there', () => {
  const workers = new Map<number, Record<string, unknown>>([
    [3, { fleet: { [E1]: { eligible: false, reasons: ['outlier'], connections: 2 }, [E2]: { eligible: true, reasons: [] } } }],
    [4, { mock: { 'mock://mock': { eligible: true, reasons: [] } } }],
  ])
  const out = describeClusters(inputs({ workers })) as Record<string, { endpoints: { workers: unknown }[] }>
  assert.deepStrictEqual(out.fleet.endpoints.map((e) => e.workers), [
    { 'worker-3': { eligible: false, reasons: ['outlier'], connections: 2 }, 'worker-4': { eligible: true, reasons: [] } },
    { 'worker-3': { eligible: true, reasons: [] }, 'worker-4': { eligible: true, reasons: [] } },
  ])
  assert.deepStrictEqual(out.mock.endpoints[0].workers, { 'worker-3': { eligible: true, reasons: [] }, 'worker-4': { eligible: true, reasons: [] } })
})

test('a cluster or endpoint without a shared slot (table full) shows no counters', () => {
  const table = new SharedStateTable(2)
  const slots = table.assign(['cluster:mock', 'mock|mock://mock', 'cluster:fleet', `fleet|${E1}`, `fleet|${E2}`])
  assert.ok(table.exhausted)
  const out = describeClusters(inputs({ slots, cells: new Int32Array(table.buffer) })) as Record<string, Record<string, unknown>>
  assert.deepStrictEqual(out.fleet, {
    provider: 'openai', lb: 'weighted',
    endpoints: [{ url: E1, weight: 3, workers: {} }, { url: E2, weight: 1, workers: {} }],
  })
  assert.equal(out.mock.inflight, 0)
})
