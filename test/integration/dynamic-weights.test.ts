/**
 * `lb: dynamic_weighted` end to end: weights follow the load endpoints report, either in a
 * response header or as a vLLM-style Prometheus gauge scraped by the main thread, shared by all
 * workers; /clusters shows the weights; max_connections caps each endpoint pool.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { startHttpServer } from '../support/http-server.js'

/** A vLLM-like OpenAI endpoint: reports its queue depth in a header and in /metrics. */
interface LoadedUpstream {
  readonly name: string
  readonly url: string
  readonly origin: string
  served: number
  scrapes: number
  /** Current queue depth to report. */
  depth: number
  /** Longest the server answers a chat request; used to hold connections open. */
  delayMs: number
  maxOpen: number
  close(): Promise<void>
}

async function startLoaded(name: string, depth: number): Promise<LoadedUpstream> {
  let open = 0
  const u: LoadedUpstream = { name, url: '', origin: '', served: 0, scrapes: 0, depth, delayMs: 0, maxOpen: 0, close: async () => {} }
  const server = await startHttpServer((req, res) => {
    if (req.url === '/metrics') {
      u.scrapes++
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
      res.end([
        '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
        '# TYPE vllm:num_requests_waiting gauge',
        `vllm:num_requests_waiting{model_name="m"} ${u.depth.toFixed(1)}`,
        `vllm:num_requests_waiting_by_priority{model_name="m",priority="0"} 999.0`,
        '',
      ].join('\n'))
      return
    }
    req.resume()
    req.on('end', () => {
      u.served++
      open++
      u.maxOpen = Math.max(u.maxOpen, open)
      const body = JSON.stringify({
        id: 'chatcmpl-1', object: 'chat.completion', created: 1700000000, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: `from ${name}` }, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      })
      setTimeout(() => {
        open--
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-queue-depth': String(u.depth) })
        res.end(body)
      }, u.delayMs)
    })
  })
  Object.assign(u, { origin: server.origin, url: `${server.origin}/v1`, close: server.close })
  return u
}

let a: LoadedUpstream, b: LoadedUpstream, c: LoadedUpstream, d: LoadedUpstream, e: LoadedUpstream
let gw: GatewayProcess
let port: number

before(async () => {
  ;[a, b, c, d, e] = await Promise.all([startLoaded('A', 20), startLoaded('B', 0), startLoaded('C', 30), startLoaded('D', 0), startLoaded('E', 0)])
  port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - { match: { headers: [{ name: x-pool, exact: header }] }, cluster: by-header }
      - { match: { headers: [{ name: x-pool, exact: metrics }] }, cluster: by-metrics }
      - { match: { headers: [{ name: x-pool, exact: capped }] }, cluster: capped }
clusters:
  - name: by-header
    provider: openai
    lb: dynamic_weighted
    dynamic_weights: { header: x-queue-depth, interval: 150ms, smoothing: 1, min_weight_fraction: 0.02 }
    endpoints: [{ url: "${a.url}" }, { url: "${b.url}" }]
  - name: by-metrics
    provider: vllm
    lb: dynamic_weighted
    dynamic_weights: { metrics: { metric: "vllm:num_requests_waiting", timeout: 500ms }, interval: 150ms, smoothing: 1, min_weight_fraction: 0.02 }
    endpoints: [{ url: "${c.url}" }, { url: "${d.url}" }]
  - name: capped
    provider: openai
    circuit_breakers: { max_connections: 2 }
    endpoints: [{ url: "${e.url}" }]
`, { workers: 2 })
})

after(async () => {
  const code = await gw?.stop()
  for (const u of [a, b, c, d, e]) await u?.close()
  assert.equal(code, 0, gw?.output())
})

async function chat(pool: string): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-pool': pool }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  })
  const text = await r.text()
  assert.equal(r.status, 200, text)
  return /from (\w)/.exec(text)![1]
}
const clusters = async () => (await fetch(`${gw.admin}/clusters`)).json() as Promise<any>
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Per-worker dynamic-weight state of one endpoint in /clusters. */
const workersOf = async (cluster: string, url: string) => Object.values((await clusters())[cluster].endpoints.find((x: any) => x.url === url).workers ?? {}) as any[]

/** Who served `n` requests, sent 8 at a time. */
async function shares(pool: string, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (let i = 0; i < n; i += 8) {
    for (const who of await Promise.all(Array.from({ length: 8 }, () => chat(pool)))) out[who] = (out[who] ?? 0) + 1
  }
  return out
}

test('header-reported load moves traffic away from the busy endpoint, and back when it drains', async () => {
  // Both endpoints get traffic until reports arrive; then A (depth 20) drops to about 1/21 of B.
  await shares('header', 48)
  // Every worker folds the reports in on its next interval: keep a little traffic going until
  // /clusters shows each worker weighting A down (the state the shares below depend on).
  await eventually(async () => {
    await shares('header', 8)
    return workersOf('by-header', a.url).then((w) => w.length === 2 && w.every((s) => s.dynamic_weight < 100 && s.reported_load >= 10))
  }, undefined, 'every worker to weight A down on its reports')
  const busy = await shares('header', 160)
  assert.ok((busy.A ?? 0) <= 24, `A reports depth 20 and should get ≈5% of 160, got ${JSON.stringify(busy)}`)
  assert.ok((busy.A ?? 0) >= 1, `the floor keeps a trickle to A: ${JSON.stringify(busy)}`)

  const w = Object.values((await clusters())['by-header'].endpoints.find((x: any) => x.url === a.url).workers) as any[]
  assert.equal(w.length, 2)
  for (const s of w) assert.ok(s.dynamic_weight < 100 && s.reported_load >= 10, JSON.stringify(w))

  a.depth = 0
  await eventually(async () => {
    const s = await shares('header', 64)
    return (s.A ?? 0) >= 20 && (s.A ?? 0) <= 44
  }, undefined, 'A to win back about half the traffic once its queue drained')
})

test('a Prometheus gauge scraped from /metrics sets the weights (vLLM num_requests_waiting)', async () => {
  await eventually(() => c.scrapes >= 2 && d.scrapes >= 2, undefined, 'scrapes of both endpoints')
  // The main thread publishes the scraped load; each worker folds it in on its next interval.
  await eventually(async () => {
    await shares('metrics', 8)
    return workersOf('by-metrics', c.url).then((w) => w.length === 2 && w.every((s) => s.dynamic_weight < 100))
  }, undefined, 'every worker to weight C down on its scraped load')
  const s = await shares('metrics', 160)
  assert.ok((s.C ?? 0) <= 24, `C reports 30 waiting and should get ≈3%, got ${JSON.stringify(s)}`)
  const ep = (await clusters())['by-metrics'].endpoints.find((x: any) => x.url === c.url)
  assert.equal(ep.load_scrape.load, 30, JSON.stringify(ep))
  // Only the main thread scrapes: about one scrape per interval, not one per worker.
  const before = c.scrapes
  // An upper bound on a rate: a fixed window (a slow box can only scrape less in it, never more).
  await sleep(1500)
  const rate = (c.scrapes - before) / 1.5
  assert.ok(rate <= 10, `${rate.toFixed(1)} scrapes/s at a 150 ms interval means more than one scraper`)
})

test('max_connections caps the upstream connections of the whole process', async () => {
  e.delayMs = 150
  const all = await Promise.all(Array.from({ length: 16 }, () => chat('capped')))
  assert.equal(all.length, 16)
  assert.ok(e.maxOpen <= 2, `at most 2 requests may be open at the upstream at once, saw ${e.maxOpen}`)
  assert.equal(e.maxOpen, 2, 'both workers used their one connection')
  e.delayMs = 0
})
