/**
 * The cache across hosts: two gateway processes of two worker threads each, sharing a private
 * redis-server, in front of one counting OpenAI-format upstream, called with the official SDK.
 * DELETE /cache on one host invalidates the Redis tier for both at once and the other's memory
 * soon after; /cache and /metrics count per route and tier; identical misses spread over both
 * hosts make one upstream call (the Redis lock); a lock whose holder died expires.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually } from '../support/gateway-process.js'
import { startGatewayHosts, stopGatewayHosts, type GatewayHost } from '../support/gateway-hosts.js'
import { startRedis, type RedisServer } from '../support/redis-server.js'

let up: Upstream
let redis: RedisServer
let hosts: GatewayHost[]

before(async () => {
  up = await startOpenAIUpstream('up')
  redis = await startRedis()
  hosts = await startGatewayHosts({
    workers: 2, readyTimeoutMs: 30_000,
    redis: { url: redis.url, keyPrefix: 'sy:', commandTimeout: '1s' },
    listenerFilters: ['answers'],
    config: `
filters:
  - { name: answers, type: cache, config: { ttl: 10m, redis: { enabled: true }, single_flight: { lock_ttl: 1s, wait: 20s } } }
routes:
  - { name: main, rules: [{ name: chat, cluster: a }] }
clusters:
  - { name: a, provider: openai, timeout: 30s, endpoints: [{ url: "${up.url}" }] }
`,
  })
})

after(async () => {
  await stopGatewayHosts(hosts)
  await redis?.close()
  await up?.close()
})

const calls = () => up.requests.filter((r) => r.url.includes('/chat/completions')).length
const client = (host: number) => new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${hosts[host].port}/v1`, maxRetries: 0, timeout: 30_000 })

async function ask(host: number, text: string) {
  const { data, response } = await client(host).chat.completions.create({ model: 'gpt-4o', temperature: 0, messages: [{ role: 'user', content: text }] }).withResponse()
  return { text: data.choices[0].message.content, cache: response.headers.get('x-switchyard-cache') }
}

const adminOf = (host: number) => hosts[host].gw.admin
const cacheView = async (host: number) => (await fetch(`${adminOf(host)}/cache`)).json() as Promise<any>
const invalidate = async (host: number, query: string) => (await fetch(`${adminOf(host)}/cache?${query}`, { method: 'DELETE' })).json() as Promise<any>

/** Every entry key in Redis, once the background write of `n` entries landed. */
async function redisEntries(atLeast: number): Promise<void> {
  await eventually(() => redis.cli('--scan', '--pattern', 'sy:cache:e:*').split('\n').filter(Boolean).length >= atLeast, undefined, `${atLeast} entries in redis`)
}

test('DELETE /cache on one host invalidates the Redis tier for every host at once', async () => {
  const before = calls()
  assert.equal((await ask(0, 'filled on host 0')).cache, 'miss')
  await redisEntries(1)
  const gone = await invalidate(1, 'route=chat')
  assert.equal(gone.redisInvalidated.field, 'r:chat')
  // Host 1 never held it in memory: its lookup goes to Redis, where the entry is stale now.
  assert.equal((await ask(1, 'filled on host 0')).cache, 'miss')
  assert.equal(calls() - before, 2)
})

test('another host drops its memory copies when it sees the invalidation', async () => {
  const before = calls()
  assert.equal((await ask(0, 'copied into host 1')).cache, 'miss')
  await redisEntries(2)
  const copies = await Promise.all([ask(1, 'copied into host 1'), ask(1, 'copied into host 1'), ask(1, 'copied into host 1'), ask(1, 'copied into host 1')])
  assert.deepStrictEqual(copies.map((c) => c.cache), ['hit', 'hit', 'hit', 'hit'])
  assert.ok((await cacheView(1)).entries >= 1, 'host 1 keeps copies in memory')
  await invalidate(0, 'tenant=listener:api')
  assert.equal((await cacheView(0)).entries, 0, 'the host that took the DELETE dropped its own at once')
  await eventually(async () => (await cacheView(1)).entries === 0, undefined, 'host 1 dropping its copies')
  assert.equal((await ask(1, 'copied into host 1')).cache, 'miss')
  assert.equal(calls() - before, 2)
})

test('/cache and /metrics count per route, per tier, over the worker threads (their shared memory tier once)', async () => {
  await ask(0, 'counted')
  await redisEntries(1)
  await ask(0, 'counted')
  const { data: bypassed } = await client(0).chat.completions.create({ model: 'gpt-4o', temperature: 0.7, messages: [{ role: 'user', content: 'counted' }] }).withResponse()
  assert.ok(bypassed.choices.length === 1)
  const view = await cacheView(0)
  assert.ok(view.routes.chat.miss >= 1 && view.routes.chat.hit >= 1 && view.routes.chat.bypass >= 1, JSON.stringify(view.routes))
  assert.equal(Object.keys(view.workers).length, 2)
  assert.ok(view.tiers.memory.maxBytes === 64 * 1024 * 1024, `the workers share one tier, one bound: ${view.tiers.memory.maxBytes}`)
  assert.equal(typeof view.tiers.memory.evictions, 'number')
  assert.ok(view.tiers.redis.entries >= 1 && view.tiers.redis.bytes > 0 && view.tiers.redis.complete === true, JSON.stringify(view.tiers.redis))
  assert.ok(view.tiers.redis.writes >= 1)
  const page = await (await fetch(`${adminOf(0)}/metrics`)).text()
  const value = (series: string) => Number(page.split('\n').find((l) => l.startsWith(series + ' '))?.split(' ')[1])
  assert.equal(value('switchyard_cache_requests_total{route="chat",result="hit"}'), view.routes.chat.hit)
  assert.equal(value('switchyard_cache_requests_total{route="chat",result="bypass"}'), view.routes.chat.bypass)
  assert.ok(value('switchyard_cache_entries{tier="memory"}') >= 1)
  assert.ok(value('switchyard_cache_entries{tier="redis"}') >= 1)
  assert.ok(value('switchyard_cache_bytes{tier="redis"}') > 0)
  assert.equal(value('switchyard_cache_max_bytes{tier="memory"}'), 64 * 1024 * 1024)
  assert.ok(page.includes('# TYPE switchyard_cache_evictions_total counter'))
  assert.ok(value('switchyard_cache_redis_writes_total') >= 1)
})

test('50 concurrent identical misses spread over two hosts make one upstream call', async () => {
  const before = calls()
  up.failNext('slow-json:500')
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => ask(i % 2, 'asked fifty times at once')))
  assert.equal(calls() - before, 1)
  assert.deepStrictEqual(answers.map((a) => a.cache).filter((c) => c === 'miss').length, 1)
  assert.equal(new Set(answers.map((a) => a.text)).size, 1)
  const waits = await Promise.all([cacheView(0), cacheView(1)])
  assert.ok(waits.some((v) => v.tiers.redis.lockServed >= 1), 'some worker was served through the lock')
})

test('a lock whose holder died expires, and the next miss goes upstream', async () => {
  const before = calls()
  // Host 0's request hangs upstream while it holds the lock; then host 0 dies.
  up.failNext('hang')
  const doomed = ask(0, 'the holder dies').catch(() => 'gone')
  await eventually(() => calls() > before, undefined, 'host 0 upstream')
  await eventually(() => redis.cli('--scan', '--pattern', 'sy:cache:lock:*').length > 0, undefined, 'the lock')
  await hosts[0].gw.stop('SIGKILL')
  assert.equal(await doomed, 'gone')
  const t0 = Date.now()
  const next = await ask(1, 'the holder dies')
  const waited = Date.now() - t0
  assert.equal(next.cache, 'miss')
  assert.equal(calls() - before, 2)
  assert.ok(waited < 5000, `waited ${waited} ms for a 1 s lock`)
})
