/**
 * Which endpoint gets traffic: passive outlier ejection, 429 cooldowns (never ejections), active
 * health checks, consistent hashing — and /clusters explaining why.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let a: Upstream
let b: Upstream
let c: Upstream
let d: Upstream
let gw: GatewayProcess
let port: number

before(async () => {
  ;[a, b, c, d] = await Promise.all(['A', 'B', 'C', 'D'].map((n) => startOpenAIUpstream(n)))
  port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - { match: { headers: [{ name: x-pool, exact: outlier }] }, cluster: ab }
      - { match: { headers: [{ name: x-pool, exact: health }] }, cluster: cd }
      - { match: { headers: [{ name: x-pool, exact: ring }] }, cluster: ring }
      - { match: { headers: [{ name: x-pool, exact: ring-body }] }, cluster: ring-body }
clusters:
  - name: ab
    provider: openai
    endpoints: [{ url: "${a.url}" }, { url: "${b.url}" }]
    outlier_detection: { consecutive_5xx: 3, base_ejection_time: 30s, max_ejection_percent: 50, rate_limit_cooldown: 1s }
    endpoint_circuit_breaker: { consecutive_failures: 100 }
  - name: cd
    provider: openai
    endpoints: [{ url: "${c.url}" }, { url: "${d.url}" }]
    health_check: { interval: 100ms, jitter: 10ms, timeout: 500ms, healthy_threshold: 1, unhealthy_threshold: 1, path: /health }
  - name: ring-body
    provider: openai
    lb: ring_hash
    ring_hash: { hash_on: { body_field: prompt_cache_key } }
    endpoints: [{ url: "${a.url}" }, { url: "${b.url}" }, { url: "${c.url}" }, { url: "${d.url}" }]
  - name: models-check
    provider: openai
    health_check: { interval: 100ms, jitter: 10ms, healthy_threshold: 1, unhealthy_threshold: 1 }
    endpoints: [{ url: "${c.url}", api_key: sk-check }]
  - name: ring
    provider: openai
    lb: ring_hash
    ring_hash: { hash_on: { header: x-session } }
    endpoints: [{ url: "${a.url}" }, { url: "${b.url}" }, { url: "${c.url}" }, { url: "${d.url}" }]
`, { workers: 1 })
})

after(async () => {
  const code = await gw?.stop()
  for (const u of [a, b, c, d]) await u?.close()
  assert.equal(code, 0, gw?.output())
})

async function chat(pool: string, headers: Record<string, string> = {}): Promise<{ status: number; who: string }> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-pool': pool, ...headers }, body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
  })
  const text = await r.text()
  return { status: r.status, who: /Hello from (\w)/.exec(text)?.[1] ?? text }
}
const clusters = async () => (await fetch(`${gw.admin}/clusters`)).json() as Promise<any>

test('three 5xx in a row eject an endpoint; the rest of the traffic goes to its peer', async () => {
  a.failNext('500', '500', '500')
  const seen: string[] = []
  for (let i = 0; i < 6; i++) seen.push((await chat('outlier')).who)
  const after: string[] = []
  for (let i = 0; i < 10; i++) after.push((await chat('outlier')).who)
  assert.deepEqual([...new Set(after)], ['B'], `after ejection: ${after}`)
  const state = (await clusters()).ab.endpoints.find((e: any) => e.url === a.url)
  const w = Object.values(state.workers)[0] as any
  assert.equal(w.eligible, false)
  assert.deepEqual(w.reasons, ['ejected'])
  assert.ok(state.requests >= 3 && state.failures >= 3)
  assert.ok(state.latency_ewma_ms > 0 && state.latency_ewma_ms < 1000, `time-to-headers average: ${JSON.stringify(state)}`)
})

test('ejection state survives a reload that leaves the cluster unchanged', async () => {
  const { readFileSync } = await import('node:fs')
  const before = (await clusters())
  const version = (await (await fetch(`${gw.admin}/config`)).json()).version
  gw.writeConfig(readFileSync(gw.configPath, 'utf8').replace('interval: 100ms', 'interval: 120ms'))
  await eventually(async () => (await (await fetch(`${gw.admin}/config`)).json()).version !== version, undefined, 'the reload')
  const w = Object.values((await clusters()).ab.endpoints.find((e: any) => e.url === a.url).workers)[0] as any
  assert.deepEqual(w.reasons, ['ejected'], JSON.stringify(before.ab))
  for (let i = 0; i < 4; i++) assert.equal((await chat('outlier')).who, 'B')
})

test('a 429 cools an endpoint down for its Retry-After and never ejects it', async () => {
  b.failNext('429:1')
  const r = await chat('outlier') // A is still ejected, so B answers 429
  assert.equal(r.status, 429)
  const state = (await clusters()).ab.endpoints.find((e: any) => e.url === b.url)
  const w = Object.values(state.workers)[0] as any
  assert.deepEqual(w.reasons, ['cooldown'])
  assert.notEqual(w.outlier.state, 'ejected')
  await eventually(async () => ((await clusters()).ab.endpoints.find((e: any) => e.url === b.url).workers as any)[Object.keys(state.workers)[0]].eligible, undefined, 'the cooldown to end')
  assert.equal((await chat('outlier')).who, 'B')
})

test('an endpoint failing its active health check gets no traffic until it recovers', async () => {
  d.setHealthy(false)
  await eventually(async () => (await clusters()).cd.endpoints.find((e: any) => e.url === d.url).health?.status === 'unhealthy', undefined, 'D to be marked unhealthy')
  const seen = new Set<string>()
  for (let i = 0; i < 10; i++) seen.add((await chat('health')).who)
  assert.deepEqual([...seen], ['C'])
  d.setHealthy(true)
  await eventually(async () => (await clusters()).cd.endpoints.find((e: any) => e.url === d.url).health?.status === 'healthy', undefined, 'D to recover')
  const back = new Set<string>()
  for (let i = 0; i < 10; i++) back.add((await chat('health')).who)
  assert.deepEqual([...back].sort(), ['C', 'D'])
})

test("a health_check without a path asks the provider's model list with the endpoint's credentials", async () => {
  await eventually(async () => (await clusters())['models-check'].endpoints[0].health?.status === 'healthy', undefined, 'the endpoint to be marked healthy')
  const probe = c.requests.find((r) => r.method === 'GET' && r.url === '/v1/models')
  assert.ok(probe, `no GET /v1/models at the upstream: ${c.requests.map((r) => `${r.method} ${r.url}`).join(', ')}`)
  assert.equal(probe.headers.authorization, 'Bearer sk-check')
})

test('ring_hash keeps a session on one endpoint and spreads sessions', async () => {
  const owners = new Map<string, string>()
  for (let s = 0; s < 12; s++) {
    const whos = new Set<string>()
    for (let i = 0; i < 4; i++) whos.add((await chat('ring', { 'x-session': `conv-${s}` })).who)
    assert.equal(whos.size, 1, `session conv-${s} moved between ${[...whos]}`)
    owners.set(`conv-${s}`, [...whos][0])
  }
  assert.ok(new Set(owners.values()).size >= 2, 'every session hashed to one endpoint')
})

test('ring_hash on a body field (OpenAI prompt_cache_key) keeps a conversation on one endpoint', async () => {
  const ask = async (key: string) => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-pool': 'ring-body' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], prompt_cache_key: key }),
    })
    return /Hello from (\w)/.exec(await r.text())?.[1]
  }
  const owners = new Set<string | undefined>()
  for (let s = 0; s < 12; s++) {
    const whos = new Set<string | undefined>()
    for (let i = 0; i < 3; i++) whos.add(await ask(`conv-${s}`))
    assert.equal(whos.size, 1, `prompt_cache_key conv-${s} moved between ${[...whos]}`)
    owners.add([...whos][0])
  }
  assert.ok(owners.size >= 2, 'every key hashed to one endpoint')
})
