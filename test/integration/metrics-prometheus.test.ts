/**
 * A real Prometheus scrapes a gateway running two worker threads; after a known number of requests
 * (the official openai SDK, in front of two local OpenAI-format upstreams) its HTTP API must show
 * exactly those counts, summed over both workers. Then /experiments and `switchyard experiments`
 * report the same split per variant.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { startPrometheus, type PrometheusServer } from '../support/prometheus-server.js'
import { freePort } from '../support/ports.js'
import { runCli } from '../support/run-cli.js'

let a: Upstream
let b: Upstream
let gw: GatewayProcess
let prom: PrometheusServer
let client: OpenAI
/** Which variant answered each sticky key (x-switchyard-cluster). */
const servedBy = new Map<string, string>()

const NON_STREAM = 8
const UNKNOWN_MODEL = 2
const STREAMS = 4
const FAILURES = 3

before(async () => {
  a = await startOpenAIUpstream('up-a')
  b = await startOpenAIUpstream('up-b')
  const port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
telemetry: { metrics: { enabled: true } }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
routes:
  - name: main
    rules:
      - name: fail
        match: { model: { exact: error-500 } }
        cluster: up-a
      - name: chat-ab
        match: { path: { exact: /v1/chat/completions } }
        weighted_clusters:
          hash_on: { header: x-user-id }
          clusters:
            - { name: up-a, weight: 50 }
            - { name: up-b, weight: 50 }
clusters:
  - { name: up-a, provider: openai, models: [gpt-4o], endpoints: [{ name: a0, url: "${a.url}", api_key: sk-a-secret-value }] }
  - { name: up-b, provider: openai, models: [gpt-4o], endpoints: [{ name: b0, url: "${b.url}", api_key: sk-b-secret-value }] }
`, { workers: 2 })
  prom = await startPrometheus({ targets: [`127.0.0.1:${gw.adminPort}`] })
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-client', maxRetries: 0 })

  const chat = async (user: string, model: string, stream: boolean) => {
    const headers = { 'x-user-id': user }
    if (!stream) {
      const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }, { headers }).withResponse()
      servedBy.set(user, response.headers.get('x-switchyard-cluster')!)
      return
    }
    const { data, response } = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { headers }).withResponse()
    for await (const _ of data) { /* drain */ }
    servedBy.set(user, response.headers.get('x-switchyard-cluster')!)
  }
  for (let i = 0; i < NON_STREAM; i++) await chat(`user-${i}`, 'gpt-4o', false)
  for (let i = 0; i < UNKNOWN_MODEL; i++) await chat(`odd-${i}`, 'mystery-model-x', false)
  for (let i = 0; i < STREAMS; i++) await chat(`streamer-${i}`, 'gpt-4o', true)
  for (let i = 0; i < FAILURES; i++) {
    await assert.rejects(client.chat.completions.create({ model: 'error-500', messages: [{ role: 'user', content: 'hi' }] }), (e: any) => e.status === 500)
  }
  await prom.waitForScrapeAfter(Date.now())
})

after(async () => {
  await prom?.close()
  const code = await gw?.stop()
  await a?.close()
  await b?.close()
  assert.equal(code, 0, `gateway exit code; output:\n${gw?.output()}`)
})

/** The one value of a query that sums to a scalar-like vector (0 when the vector is empty). */
async function value(promql: string): Promise<number> {
  const r = await prom.query(promql)
  assert.ok(r.length <= 1, `${promql} returned ${r.length} series`)
  return r[0]?.value ?? 0
}

const ANSWERED = NON_STREAM + UNKNOWN_MODEL + STREAMS

describe('Prometheus scraping /metrics of a two-worker gateway', () => {
  test('request counters are exact, summed over both workers', async () => {
    assert.deepStrictEqual({
      all: await value('sum(switchyard_requests_total)'),
      ab: await value('sum(switchyard_requests_total{route="chat-ab",status_class="2xx",listener="api",protocol="openai"})'),
      failed: await value('sum(switchyard_requests_total{route="fail",status_class="5xx",cluster="up-a",endpoint="a0"})'),
      workers: await value('switchyard_workers'),
    }, { all: ANSWERED + FAILURES, ab: ANSWERED, failed: FAILURES, workers: 2 })
  })

  test('models the config does not name fold into "other"', async () => {
    assert.equal(await value('sum(switchyard_requests_total{model="other"})'), UNKNOWN_MODEL)
    assert.equal(await value('sum(switchyard_requests_total{model="gpt-4o"})'), NON_STREAM + STREAMS)
    assert.deepStrictEqual(await prom.query('switchyard_requests_total{model="mystery-model-x"}'), [])
  })

  test('upstream attempts by outcome, and the per-variant split matches who answered', async () => {
    assert.equal(await value('sum(switchyard_upstream_attempts_total{outcome="success",next="none"})'), ANSWERED)
    assert.equal(await value('sum(switchyard_upstream_attempts_total{outcome="5xx"})'), FAILURES)
    const perVariant = await prom.query('sum by (variant) (switchyard_requests_total{route="chat-ab"})')
    const expected: Record<string, number> = {}
    for (const v of servedBy.values()) expected[v] = (expected[v] ?? 0) + 1
    assert.deepStrictEqual(Object.fromEntries(perVariant.map((r) => [r.metric.variant, r.value])), expected)
  })

  test('duration, TTFT and operation histograms count every request; tokens sum as the upstream reported them', async () => {
    assert.equal(await value('sum(switchyard_request_duration_seconds_count)'), ANSWERED + FAILURES)
    assert.equal(await value('sum(gen_ai_server_time_to_first_token_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai"})'), STREAMS)
    assert.equal(await value('sum(gen_ai_client_operation_duration_seconds_count)'), ANSWERED + FAILURES)
    // The upstream reports 5 prompt and 4 completion tokens on every non-streamed answer.
    assert.equal(await value('sum(gen_ai_client_token_usage_sum{gen_ai_token_type="input",route="chat-ab"})'), 5 * (NON_STREAM + UNKNOWN_MODEL))
    assert.equal(await value('sum(gen_ai_client_token_usage_sum{gen_ai_token_type="output",route="chat-ab"})'), 4 * (NON_STREAM + UNKNOWN_MODEL))
    const p95 = await value('histogram_quantile(0.95, sum by (le) (switchyard_request_duration_seconds_bucket{route="chat-ab"}))')
    assert.ok(p95 > 0 && p95 <= 10, `p95 ${p95}`)
  })

  test('config and cluster state are there too', async () => {
    assert.equal(await value('count(switchyard_config_info)'), 1)
    assert.equal(await value('sum(switchyard_config_reloads_total{result="rejected"})'), 0)
    assert.equal(await value('sum(switchyard_endpoint_eligible_workers{cluster="up-b",endpoint="b0"})'), 2)
    assert.equal(await value('sum(switchyard_inflight_requests)'), 0)
  })

  test('no secret reaches a metric', async () => {
    const text = await (await fetch(`${gw.admin}/metrics`)).text()
    for (const secret of ['sk-a-secret-value', 'sk-b-secret-value', 'sk-client', a.url, b.url]) assert.ok(!text.includes(secret), `/metrics shows ${secret}`)
  })
})

describe('/experiments and switchyard experiments', () => {
  test('the weighted rule is an experiment: requests per variant, shares, sticky keys', async () => {
    const body = await (await fetch(`${gw.admin}/experiments`)).json() as any
    assert.equal(body.experiments.length, 1)
    const e = body.experiments[0]
    assert.deepStrictEqual([e.name, e.route_table, e.hash_on, e.requests], ['chat-ab', 'main', 'header:x-user-id', ANSWERED])
    for (const v of e.variants) {
      const keys = [...servedBy].filter(([, c]) => c === v.variant).length
      assert.equal(v.requests, keys, v.variant)
      assert.equal(v.weight, 50)
      assert.equal(v.configured_share, 0.5)
      assert.equal(v.observed_share, Math.round((keys / ANSWERED) * 1e4) / 1e4)
      assert.equal(v.errors, 0)
      // HyperLogLog with linear counting: exact for a handful of keys, barring a register collision.
      assert.ok(Math.abs(v.distinct_keys - keys) <= 1, `${v.variant}: ${v.distinct_keys} distinct keys, sent ${keys}`)
      assert.ok(v.latency_p50_ms > 0 && v.latency_p95_ms >= v.latency_p50_ms)
    }
    const streamed = e.variants.filter((v: any) => v.ttft_p50_ms !== null)
    assert.ok(streamed.length >= 1)
  })

  test('switchyard experiments prints the same as a table', async () => {
    const r = await runCli(['experiments', '--admin', gw.admin])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`^experiment chat-ab \\(route table main, sticky by header:x-user-id\\): ${ANSWERED} requests$`, 'm'))
    for (const v of ['up-a', 'up-b']) {
      const n = [...servedBy.values()].filter((c) => c === v).length
      assert.match(r.stdout, new RegExp(`^  ${v}\\s+50 \\(50\\.0%\\)\\s+\\S+\\s+${n}\\s+0 \\(`, 'm'))
    }
  })
})
