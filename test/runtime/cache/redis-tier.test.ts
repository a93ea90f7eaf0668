/** The Redis tier against a private redis-server: round trip, compression, TTL, and an outage as a miss. */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { RedisTier } from '../../../src/runtime/cache/redis-tier.js'
import { RedisConnection } from '../../../src/runtime/limits/redis-connection.js'
import { startRedis, type RedisServer } from '../../support/redis-server.js'

let redis: RedisServer
let conn: RedisConnection

before(async () => {
  redis = await startRedis()
  conn = new RedisConnection({ url: redis.url, commandTimeoutMs: 100 })
  await new Promise<void>((r) => (conn.ready() ? r() : conn.client.once('ready', () => r())))
})
after(async () => {
  await conn?.close()
  await redis?.close()
})

/** Writes are fire-and-forget: wait until the key is there (bounded), not a fixed time. */
async function written(...keys: string[]): Promise<void> {
  for (const until = Date.now() + 3000; (await conn.client.exists(...keys)) !== keys.length; ) {
    if (Date.now() > until) assert.fail(`never written: ${keys.join(', ')}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

test('a big entry is stored compressed and read back as it was; a small one as it is', async () => {
  const tier = new RedisTier(conn, 't1:')
  const big = Buffer.from(JSON.stringify({ text: 'the same words again '.repeat(200) }))
  tier.set('big', big, 60_000)
  tier.set('small', Buffer.from('{"a":1}'), 60_000)
  await written('t1:cache:big', 't1:cache:small')
  assert.deepStrictEqual(await tier.get('big'), big)
  assert.equal((await tier.get('small'))?.toString(), '{"a":1}')
  const raw = await conn.client.getBuffer('t1:cache:big')
  assert.equal(raw?.[0], 1, 'deflated')
  assert.ok(raw!.length < big.length / 5, `${raw!.length} of ${big.length} bytes`)
  assert.equal((await conn.client.getBuffer('t1:cache:small'))?.[0], 0, 'raw')
})

test('the TTL is Redis\'s own', async () => {
  const tier = new RedisTier(conn, 't2:')
  tier.set('short', Buffer.from('x'), 1500)
  await written('t2:cache:short')
  const pttl = await conn.client.pttl('t2:cache:short')
  assert.ok(pttl > 0 && pttl <= 1500, `pttl ${pttl}`)
  await new Promise((r) => setTimeout(r, pttl + 50))
  assert.equal(await tier.get('short'), undefined)
})

test('a value that is not an entry of this format is a miss', async () => {
  const tier = new RedisTier(conn, 't3:')
  await conn.client.set('t3:cache:odd', Buffer.from([7, 1, 2]))
  await conn.client.set('t3:cache:bad', Buffer.from([1, 0xff, 0xff]))
  assert.deepStrictEqual([await tier.get('odd'), await tier.get('bad')], [undefined, undefined])
})

test('with Redis paused, a lookup is a miss within the command timeout and a write is dropped', async () => {
  const tier = new RedisTier(conn, 't4:')
  redis.pause()
  try {
    const t0 = performance.now()
    assert.equal(await tier.get('any'), undefined)
    assert.ok(performance.now() - t0 < 500)
    tier.set('dropped', Buffer.from('x'), 60_000)
    // While Redis is away the write fails fast (or times out) and is dropped.
    for (const until = Date.now() + 2000; tier.failures < 1 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10))
    assert.ok(tier.failures >= 1)
  } finally {
    redis.resume()
  }
})
