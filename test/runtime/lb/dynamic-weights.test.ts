import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { createDynamicWeighted, createMetricsPoller, DynamicWeights, loadFromHeader, parsePrometheusGauge, type DynamicWeightsConfig } from '../../../src/runtime/lb/dynamic-weights.js'
import { counts, endpoints, picks } from '../../support/lb-endpoints.js'
import { agent, serve as serveOrigin, waitFor } from '../../support/local-server.js'
import { quietPeriod } from '../../support/eventually.js'
import { CELLS_PER_ENDPOINT, EndpointStats } from '../../../src/shared/shared-state.js'
import { createStores } from '../../../src/runtime/stores.js'
import { poolConnections } from '../../../src/runtime/build/clusters.js'
import type { ClusterIR } from '../../../src/compiler/ir.js'

/** Trimmed from a real vLLM 0.6 /metrics page: one model plus a LoRA adapter. */
const VLLM_METRICS = `# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig
# TYPE vllm:cache_config_info gauge
vllm:cache_config_info{block_size="16",cache_dtype="auto",gpu_memory_utilization="0.9",num_gpu_blocks="27153"} 1.0
# HELP vllm:num_requests_running Number of requests currently running on GPU.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="meta-llama/Llama-3.1-8B-Instruct"} 12.0
# HELP vllm:num_requests_swapped Number of requests swapped to CPU.
# TYPE vllm:num_requests_swapped gauge
vllm:num_requests_swapped{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0
vllm:num_requests_waiting{model_name="sql-lora"} 2.0
# HELP vllm:num_requests_waiting_by_priority Waiting requests per priority.
# TYPE vllm:num_requests_waiting_by_priority gauge
vllm:num_requests_waiting_by_priority{model_name="meta-llama/Llama-3.1-8B-Instruct",priority="0"} 40.0
# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.4217
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{le="0.001",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1532.0
vllm:time_to_first_token_seconds_sum{model_name="meta-llama/Llama-3.1-8B-Instruct"} 211.71
vllm:time_to_first_token_seconds_count{model_name="meta-llama/Llama-3.1-8B-Instruct"} 1532.0
`

const config: DynamicWeightsConfig = { intervalMs: 1000, smoothing: 1, minWeightFraction: 0.05 }
const key = (n: string) => `test|mock://${n}`

function dyn(specs: (string | [string, number])[], overrides: Partial<DynamicWeightsConfig> = {}) {
  const eps = endpoints(...specs)
  const d = new DynamicWeights(eps, { ...config, ...overrides })
  d.maybeRecompute(0) // starts the clock at 0
  return { eps, d }
}

// ---- Prometheus parser ----

test('the gauge is summed over its label sets (vLLM reports one series per model)', () => {
  assert.equal(parsePrometheusGauge(VLLM_METRICS, 'vllm:num_requests_waiting'), 9)
})

test('a longer metric name sharing the prefix is not counted', () => {
  assert.equal(parsePrometheusGauge(VLLM_METRICS, 'vllm:num_requests_running'), 12)
})

test('a missing metric gives undefined', () => {
  assert.equal(parsePrometheusGauge(VLLM_METRICS, 'tgi_queue_size'), undefined)
})

test('an unlabelled sample with a timestamp is read', () => {
  assert.equal(parsePrometheusGauge('# TYPE tgi_queue_size gauge\ntgi_queue_size 4 1712345678000\n', 'tgi_queue_size'), 4)
})

test('label values containing braces, spaces and commas do not confuse the parser', () => {
  const text = 'queue{path="/a}b",note="x y, z"} 3\r\nqueue{path="{}"} 1.5\r\n'
  assert.equal(parsePrometheusGauge(text, 'queue'), 4.5)
})

test('NaN samples are skipped', () => {
  assert.equal(parsePrometheusGauge('q{a="1"} NaN\nq{a="2"} 2\n', 'q'), 2)
})

// ---- weights ----

test('before any report every endpoint has its configured weight, scaled', () => {
  assert.deepStrictEqual(dyn([['a', 2], ['b', 1]]).d.weights, [1000, 500])
})

test('reports are folded in only once the interval has passed', () => {
  const { d } = dyn(['a', 'b'])
  d.observeLoad(key('b'), 3, 999)
  const before = [...d.weights]
  d.maybeRecompute(1000)
  assert.deepStrictEqual([before, d.weights], [[1000, 1000], [1000, 250]])
})

test('weight is the configured weight divided by one plus the load', () => {
  const { d } = dyn([['a', 2], ['b', 2], ['c', 1]])
  d.observeLoad(key('a'), 1, 0)
  d.observeLoad(key('b'), 0, 0)
  d.observeLoad(key('c'), 0, 0)
  d.maybeRecompute(1000)
  assert.deepStrictEqual(d.weights, [500, 1000, 500])
})

test('several reports in one interval are averaged', () => {
  const { d } = dyn(['a', 'b'])
  for (const v of [1, 3, 5]) d.observeLoad(key('b'), v, 10)
  d.maybeRecompute(1000)
  assert.deepStrictEqual(d.snapshot(), [{ key: key('a'), load: 0, weight: 1000 }, { key: key('b'), load: 3, weight: 250 }])
})

test('later rounds are smoothed exponentially', () => {
  const { d } = dyn(['a', 'b'], { smoothing: 0.5 })
  d.observeLoad(key('b'), 4, 10)
  d.maybeRecompute(1000) // first report taken as is: 4
  d.observeLoad(key('b'), 0, 1010)
  d.maybeRecompute(2000) // 0.5 × 0 + 0.5 × 4 = 2
  assert.deepStrictEqual(d.snapshot()[1], { key: key('b'), load: 2, weight: 333 })
})

test('an endpoint that stops reporting keeps its last load', () => {
  const { d } = dyn(['a', 'b'])
  d.observeLoad(key('b'), 3, 10)
  d.maybeRecompute(1000)
  d.maybeRecompute(2000)
  assert.deepStrictEqual(d.weights, [1000, 250])
})

test('an overloaded endpoint keeps the minimum weight fraction', () => {
  const { d } = dyn(['a', 'b'], { minWeightFraction: 0.1 })
  d.observeLoad(key('b'), 1000, 10)
  d.maybeRecompute(1000)
  assert.deepStrictEqual(d.weights, [1000, 100])
})

test('equally loaded endpoints keep equal weights however high the load', () => {
  const { d } = dyn(['a', 'b'])
  d.observeLoad(key('a'), 500, 10)
  d.observeLoad(key('b'), 500, 10)
  d.maybeRecompute(1000)
  assert.deepStrictEqual(d.weights, [1000, 1000])
})

test('header values are parsed and unreadable ones ignored', () => {
  const { eps, d } = dyn(['a', 'b'])
  const report = (i: number, value: string | undefined) => {
    const load = loadFromHeader(value)
    if (load !== undefined) eps[i].stats.reportLoad(load)
  }
  report(0, 'many')
  report(0, '-2')
  report(0, undefined)
  report(1, ' 3 ')
  d.maybeRecompute(1000)
  assert.deepStrictEqual(d.weights, [1000, 250])
})

test('reports for unknown endpoints are ignored', () => {
  const { d } = dyn(['a'])
  d.observeLoad('other', 5, 10)
  d.maybeRecompute(1000)
  assert.deepStrictEqual(d.weights, [1000])
})

test('an endpoint configured with weight 0 stays at 0', () => {
  assert.deepStrictEqual(dyn(['a', ['b', 0]]).d.weights, [1000, 0])
})

// ---- balancer ----

test('the balancer spreads picks in proportion to the current weights', () => {
  const { eps, d } = dyn(['a', 'b'])
  d.observeLoad(key('b'), 3, 10)
  d.maybeRecompute(1000)
  const lb = createDynamicWeighted(eps, d, { now: () => 1500 })
  assert.deepStrictEqual(counts(picks(lb, 1250)), { a: 1000, b: 250 })
})

test('the balancer recomputes weights on a pick once the interval has passed', () => {
  const { eps, d } = dyn(['a', 'b'])
  let now = 500
  const lb = createDynamicWeighted(eps, d, { now: () => now })
  d.observeLoad(key('a'), 1000, 600)
  const before = counts(picks(lb, 100))
  now = 1000
  const after = counts(picks(lb, 100))
  assert.deepStrictEqual([before, after.a <= 6], [{ a: 50, b: 50 }, true])
})

test('a balancer over endpoints that all have weight 0 still answers', () => {
  const { eps, d } = dyn([['a', 0]])
  assert.deepStrictEqual(picks(createDynamicWeighted(eps, d), 2), ['a', 'a'])
})

// ---- metrics polling against real servers ----

async function serve(t: TestContext, reply: (res: ServerResponse) => void): Promise<string> {
  return (await serveOrigin(t, (_req, res) => reply(res))) + '/metrics'
}

test('the poller reads the gauge from every endpoint, repeatedly', async (t) => {
  const a = await serve(t, (res) => res.end(VLLM_METRICS))
  const b = await serve(t, (res) => res.end('vllm:num_requests_waiting{model_name="m"} 1\n'))
  const seen: Record<string, number[]> = {}
  const poller = createMetricsPoller([{ key: 'a', url: a }, { key: 'b', url: b }], {
    metric: 'vllm:num_requests_waiting', intervalMs: 20, timeoutMs: 500, dispatcher: agent(t),
    onLoad: (key, load) => (seen[key] ??= []).push(load),
  })
  t.after(() => poller.stop())
  await waitFor(() => (seen.a?.length ?? 0) >= 3 && (seen.b?.length ?? 0) >= 1)
  assert.deepStrictEqual([seen.a.slice(0, 3), seen.b[0]], [[9, 9, 9], 1])
})

test('the poller reports failed scrapes and missing metrics as errors', async (t) => {
  const broken = await serve(t, (res) => { res.statusCode = 500; res.end('oops') })
  const empty = await serve(t, (res) => res.end('# nothing here\n'))
  const errors = new Map<string, string>()
  const poller = createMetricsPoller([{ key: 'broken', url: broken }, { key: 'empty', url: empty }], {
    metric: 'vllm:num_requests_waiting', intervalMs: 20, timeoutMs: 500, dispatcher: agent(t),
    onLoad: () => assert.fail('no load expected'),
    onError: (key, e) => errors.set(key, e),
  })
  t.after(() => poller.stop())
  await waitFor(() => errors.size === 2)
  assert.deepStrictEqual(Object.fromEntries(errors), { broken: 'status 500', empty: 'metric vllm:num_requests_waiting not found' })
})

test('the poller stops polling when stopped', async (t) => {
  let scrapes = 0
  const a = await serve(t, (res) => { scrapes++; res.end(VLLM_METRICS) })
  const poller = createMetricsPoller([{ key: 'a', url: a }], { metric: 'vllm:num_requests_waiting', intervalMs: 10, timeoutMs: 500, dispatcher: agent(t), onLoad: () => {} })
  await waitFor(() => scrapes >= 2)
  poller.stop()
  const atStop = scrapes
  // An absence: a fixed wait, long enough for six more 10 ms intervals had the poller kept going.
  await quietPeriod(60)
  assert.ok(scrapes - atStop <= 1, `${scrapes - atStop} scrapes after stop`)
})

test('polled load turns into weights', async (t) => {
  const busy = await serve(t, (res) => res.end(VLLM_METRICS)) // 9 waiting
  const idle = await serve(t, (res) => res.end('vllm:num_requests_waiting{model_name="m"} 0\n'))
  const eps = endpoints('busy', 'idle')
  const d = new DynamicWeights(eps, { intervalMs: 0, smoothing: 1, minWeightFraction: 0.01 })
  const poller = createMetricsPoller([{ key: key('busy'), url: busy }, { key: key('idle'), url: idle }], {
    metric: 'vllm:num_requests_waiting', intervalMs: 20, timeoutMs: 500, dispatcher: agent(t),
    onLoad: (k, load, now) => d.observeLoad(k, load, now),
  })
  t.after(() => poller.stop())
  await waitFor(() => d.weights[0] === 100 && d.weights[1] === 1000)
  assert.deepStrictEqual(d.weights, [100, 1000])
})

test('reports published by another worker through the shared counters are folded in, as a mean per interval', () => {
  const buffer = new SharedArrayBuffer(2 * CELLS_PER_ENDPOINT * 4)
  const slots = { [key('a')]: 0, [key('b')]: 1 }
  const worker1 = createStores({ buffer, slots })
  const worker2 = createStores({ buffer, slots })
  worker1.endpointStats(key('b')).reportLoad(7) // before this balancer existed: not counted
  const eps = endpoints('a', 'b').map((e) => ({ ...e, stats: worker2.endpointStats(e.key) }))
  const d = new DynamicWeights(eps, config)
  d.maybeRecompute(0)
  worker1.endpointStats(key('b')).reportLoad(2)
  worker1.endpointStats(key('b')).reportLoad(4.5)
  worker2.endpointStats(key('a')).reportLoad(0)
  d.maybeRecompute(1000)
  assert.deepStrictEqual(d.snapshot().map((s) => s.load), [0, 3.25])
})

test('negative, infinite and unparsable reports are ignored', () => {
  const stats = EndpointStats.local()
  for (const v of [-1, Infinity, NaN, Number('x')]) stats.reportLoad(v)
  assert.equal(stats.loadReports, 0)
})

test('max_connections is split over endpoints and workers, at least one each, never above pool.connections', () => {
  const cluster = (max: number | undefined, endpoints: number, pool = 64) =>
    ({ pool: { connections: pool, keepAliveMs: 1 }, limits: { maxRequests: 1, maxPendingRequests: 1, maxRetries: 1, ...(max !== undefined && { maxConnections: max }) }, endpoints: Array(endpoints).fill({}) }) as unknown as ClusterIR
  assert.deepStrictEqual(
    [poolConnections(cluster(undefined, 2), 2), poolConnections(cluster(100, 2), 2), poolConnections(cluster(3, 2), 2), poolConnections(cluster(1000, 1, 8), 1)],
    [64, 25, 1, 8],
  )
})
