/**
 * The cache's Redis tier end to end: two gateway processes (hosts, as far as the cache can tell)
 * sharing a private redis-server, in front of one counting OpenAI-format upstream. An entry one
 * fills answers the other; entries carry Redis's own TTL; with Redis gone, each keeps
 * answering from its memory tier and no request fails.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { startGatewayHosts, stopGatewayHosts, type GatewayHost } from '../support/gateway-hosts.js'
import { startRedis, type RedisServer } from '../support/redis-server.js'
import { eventually } from '../support/eventually.js'

let up: Upstream
let redis: RedisServer
let hosts: GatewayHost[]

before(async () => {
  up = await startOpenAIUpstream('up')
  redis = await startRedis()
  hosts = await startGatewayHosts({
    redis: { url: redis.url, keyPrefix: 'sy:', commandTimeout: '100ms' },
    listenerFilters: ['answers'],
    config: `
filters:
  - { name: answers, type: cache, config: { ttl: 10m, redis: { enabled: true } } }
routes:
  - { name: main, rules: [{ name: chat, cluster: a }] }
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${up.url}" }] }
`,
  })
})

after(async () => {
  await stopGatewayHosts(hosts)
  await redis?.close()
  await up?.close()
})

const calls = () => up.requests.filter((r) => r.url.includes('/chat/completions')).length
const client = (host: number) => new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${hosts[host].port}/v1`, maxRetries: 0 })

async function ask(host: number, text: string, stream = false) {
  const body = { model: 'gpt-4o', temperature: 0, messages: [{ role: 'user' as const, content: text }] }
  if (stream) {
    const { data, response } = await client(host).chat.completions.create({ ...body, stream: true }).withResponse()
    let out = ''
    for await (const c of data) out += c.choices[0]?.delta?.content ?? ''
    return { text: out, cache: response.headers.get('x-switchyard-cache') }
  }
  const { data, response } = await client(host).chat.completions.create(body).withResponse()
  return { text: data.choices[0].message.content, cache: response.headers.get('x-switchyard-cache') }
}

/** The entries in Redis (one hash each, written in one MULTI with its PEXPIRE). */
const entries = () => redis.cli('--scan', '--pattern', 'sy:cache:e:*').trim().split('\n').filter(Boolean)

/** The writer stores in the background after the answer: wait until Redis holds `count` entries. */
async function stored(count: number): Promise<void> {
  await eventually(() => entries().length >= count, undefined, `${count} cache entries in Redis (have ${entries().length})`, 50)
}

test('an entry stored by one gateway answers the other', async () => {
  const before = calls()
  const stores = entries().length
  const first = await ask(0, 'shared question', true)
  await stored(stores + 1)
  const other = await ask(1, 'shared question')
  const again = await ask(1, 'shared question', true)
  assert.deepStrictEqual([first.cache, other.cache, again.cache, calls() - before], ['miss', 'hit', 'hit', 1])
  assert.equal(other.text, first.text)
})

test('entries carry their TTL in Redis itself', async () => {
  const stores = entries().length
  await ask(0, 'ttl in redis')
  await stored(stores + 1)
  const keys = entries()
  assert.ok(keys.length >= 2)
  for (const k of keys) {
    const ttl = Number(redis.cli('pttl', k).trim())
    assert.ok(ttl > 0 && ttl <= 600_000, `${k}: pttl ${ttl}`)
  }
})

test('with Redis down, both gateways keep answering and their memory tiers keep hitting', async () => {
  await ask(0, 'before the outage')
  await redis.kill()
  const before = calls()
  const remembered = await ask(0, 'before the outage')
  const fresh = [await ask(1, 'during the outage'), await ask(1, 'during the outage')]
  assert.deepStrictEqual([remembered.cache, fresh[0].cache, fresh[1].cache, calls() - before], ['hit', 'miss', 'hit', 1])
  await redis.start()
})
