/**
 * The Redis tier against a private redis-server: round trip, compression, TTL, generations
 * (invalidation without SCAN), the single-flight lock, the invalidation watch, and an outage as a miss.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { RedisTier } from '../../../src/runtime/cache/redis-tier.js'
import { InvalidationWatch } from '../../../src/runtime/cache/invalidation-watch.js'
import { fieldOf, EPOCH_FIELD } from '../../../src/runtime/cache/generations.js'
import { RedisConnection } from '../../../src/runtime/limits/redis-connection.js'
import { startRedis, type RedisServer } from '../../support/redis-server.js'

let redis: RedisServer
let conn: RedisConnection
/** A short command timeout for the outage case; the others get a generous one (a busy machine is not an outage). */
let quick: RedisConnection

const ready = (c: RedisConnection) => new Promise<void>((r) => (c.ready() ? r() : c.client.once('ready', () => r())))

before(async () => {
  redis = await startRedis()
  conn = new RedisConnection({ url: redis.url, commandTimeoutMs: 2000 })
  quick = new RedisConnection({ url: redis.url, commandTimeoutMs: 100 })
  await Promise.all([ready(conn), ready(quick)])
})
after(async () => {
  await conn?.close()
  await quick?.close()
  await redis?.close()
})

const entryOf = async (tier: RedisTier, key: string, route = 'chat', tenant = 'acme') => (await tier.get(key, route, tenant)).entry
/** What DELETE /cache does to Redis (control/cache-admin.ts does the same through invalidateRedis). */
const bump = (prefix: string, by: { route?: string; tenant?: string }) => conn.client.multi().hincrby(`${prefix}cache:gen`, fieldOf(by), 1).hincrby(`${prefix}cache:gen`, EPOCH_FIELD, 1).exec()

test('a big entry is stored compressed and read back as it was; a small one as it is', async () => {
  const tier = new RedisTier(conn, 't1:')
  const big = Buffer.from(JSON.stringify({ text: 'the same words again '.repeat(200) }))
  await tier.set('big', big, 60_000, 'chat', 'acme', undefined)
  await tier.set('small', Buffer.from('{"a":1}'), 60_000, 'chat', 'acme', undefined)
  assert.deepStrictEqual(await entryOf(tier, 'big'), big)
  assert.equal((await entryOf(tier, 'small'))?.toString(), '{"a":1}')
  const raw = await conn.client.hgetBuffer('t1:cache:e:big', 'v')
  assert.equal(raw?.[0], 1, 'deflated')
  assert.ok(raw!.length < big.length / 5, `${raw!.length} of ${big.length} bytes`)
  assert.equal((await conn.client.hgetBuffer('t1:cache:e:small', 'v'))?.[0], 0, 'raw')
  assert.deepStrictEqual([tier.counts.writes, tier.counts.hits], [2, 2])
})

test('the TTL is Redis\'s own', async () => {
  const tier = new RedisTier(conn, 't2:')
  await tier.set('short', Buffer.from('x'), 1500, 'chat', 'acme', undefined)
  const pttl = await conn.client.pttl('t2:cache:e:short')
  assert.ok(pttl > 0 && pttl <= 1500, `pttl ${pttl}`)
  await new Promise((r) => setTimeout(r, pttl + 50))
  assert.equal(await entryOf(tier, 'short'), undefined)
})

test('a value that is not an entry of this format is a miss', async () => {
  const tier = new RedisTier(conn, 't3:')
  await conn.client.hset('t3:cache:e:odd', 'v', Buffer.from([7, 1, 2]), 'o', 'chat\nacme', 'g', '0.0.0.0')
  await conn.client.hset('t3:cache:e:bad', 'v', Buffer.from([1, 0xff, 0xff]), 'o', 'chat\nacme', 'g', '0.0.0.0')
  assert.deepStrictEqual([await entryOf(tier, 'odd'), await entryOf(tier, 'bad')], [undefined, undefined])
})

test('bumping a generation invalidates exactly the entries it covers, for every reader', async () => {
  const tier = new RedisTier(conn, 't5:')
  const other = new RedisTier(conn, 't5:') // another host's tier: nothing shared but Redis
  const put = (key: string, route: string, tenant: string) => tier.set(key, Buffer.from(key), 60_000, route, tenant, undefined)
  await Promise.all([put('a1', 'chat', 'acme'), put('a2', 'chat', 'globex'), put('b1', 'embed', 'acme'), put('b2', 'embed', 'globex')])
  const live = async () => {
    const out: string[] = []
    for (const [k, r, t] of [['a1', 'chat', 'acme'], ['a2', 'chat', 'globex'], ['b1', 'embed', 'acme'], ['b2', 'embed', 'globex']]) if ((await other.get(k, r, t)).entry) out.push(k)
    return out
  }
  assert.deepStrictEqual(await live(), ['a1', 'a2', 'b1', 'b2'])
  await bump('t5:', { route: 'chat', tenant: 'acme' })
  assert.deepStrictEqual(await live(), ['a2', 'b1', 'b2'])
  await bump('t5:', { tenant: 'globex' })
  assert.deepStrictEqual(await live(), ['b1'])
  assert.ok(other.counts.stale >= 3)
  // A fresh write after the bump is current again; then everything goes.
  await put('a1', 'chat', 'acme')
  assert.deepStrictEqual(await live(), ['a1', 'b1'])
  await bump('t5:', {})
  assert.deepStrictEqual(await live(), [])
})

test('an answer whose request looked up before an invalidation is stale as soon as it is stored', async () => {
  const tier = new RedisTier(conn, 't6:')
  const looked = await tier.get('k', 'chat', 'acme')
  assert.equal(looked.entry, undefined)
  await bump('t6:', { route: 'chat' })
  await tier.set('k', Buffer.from('old answer'), 60_000, 'chat', 'acme', looked.gens)
  assert.equal(await entryOf(tier, 'k'), undefined)
})

test('an entry another route filled is judged by that route\'s generations', async () => {
  const tier = new RedisTier(conn, 't7:')
  await tier.set('k', Buffer.from('x'), 60_000, 'filler', 'acme', undefined)
  assert.equal((await entryOf(tier, 'k', 'reader'))?.toString(), 'x')
  await bump('t7:', { route: 'reader' })
  assert.equal((await entryOf(tier, 'k', 'reader'))?.toString(), 'x', 'the reader route\'s own bump does not cover it')
  await bump('t7:', { route: 'filler' })
  assert.equal(await entryOf(tier, 'k', 'reader'), undefined)
})

test('the lock: one holder; renew and unlock only by the holder; it expires if the holder is gone', async () => {
  const tier = new RedisTier(conn, 't8:')
  assert.equal(await tier.tryLock('k', 'one', 300), true)
  assert.equal(await tier.tryLock('k', 'two', 300), false)
  await tier.unlock('k', 'two')
  assert.equal(await conn.client.get('t8:cache:lock:k'), 'one', 'not released by another token')
  tier.renew('k', 'one', 5000)
  for (const until = Date.now() + 2000; (await conn.client.pttl('t8:cache:lock:k')) <= 300 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 5))
  assert.ok((await conn.client.pttl('t8:cache:lock:k')) > 300, 'renewed')
  await tier.unlock('k', 'one')
  assert.equal(await tier.tryLock('k', 'two', 200), true)
  await new Promise((r) => setTimeout(r, 260))
  assert.equal(await tier.tryLock('k', 'three', 200), true, 'a dead holder\'s lock expires')
})

test('the invalidation watch calls back once per bumped field, after its baseline', async () => {
  const seen: unknown[] = []
  const w = new InvalidationWatch(conn, 't9:cache:gen', (by) => seen.push(by), 60_000)
  await bump('t9:', { route: 'before' })
  await w.tick()
  assert.deepStrictEqual(seen, [], 'the first read is the baseline')
  await bump('t9:', { route: 'chat', tenant: 'acme' })
  await bump('t9:', { tenant: 'globex' })
  await w.tick()
  await w.tick()
  assert.deepStrictEqual(seen, [{ route: 'chat', tenant: 'acme' }, { tenant: 'globex' }])
  await conn.client.del('t9:cache:gen')
  await w.tick()
  assert.equal(seen.length, 5, 'a lost hash reads as every field changed')
})

test('with Redis paused, a lookup is a miss within the command timeout, a write is dropped, a lock is undecided', async () => {
  const tier = new RedisTier(quick, 't4:')
  redis.pause()
  try {
    const t0 = performance.now()
    assert.deepStrictEqual(await tier.get('any', 'chat', 'acme'), { entry: undefined, gens: undefined })
    assert.ok(performance.now() - t0 < 500)
    await tier.set('dropped', Buffer.from('x'), 60_000, 'chat', 'acme', '0.0.0.0')
    assert.equal(await tier.tryLock('k', 'one', 1000), undefined)
    assert.ok(tier.counts.failures >= 3)
  } finally {
    redis.resume()
  }
})
