/**
 * The Redis session store against a private redis-server, as two hosts see it (two stores, two
 * connections): a conversation's next turn reads only after the open turn's write or release,
 * whichever host it lands on; a host that stops renewing its turn (gone mid-answer) holds the
 * conversation for the turn key's TTL only; Redis away is SessionStoreUnavailable.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { SessionStoreUnavailable, type TurnToken } from '../../../src/runtime/sessions/session-store.js'
import { RedisSessionStore } from '../../../src/runtime/sessions/redis-session-store.js'
import { RedisConnection } from '../../../src/runtime/limits/redis-connection.js'
import { startRedis, type RedisServer } from '../../support/redis-server.js'

let redis: RedisServer
let connA: RedisConnection
let connB: RedisConnection

const ready = (c: RedisConnection) => new Promise<void>((r) => (c.ready() ? r() : c.client.once('ready', () => r())))
const turn = (token: string, leaseMs = 60_000): TurnToken => ({ token, leaseMs })
/** Settles with how long `p` took, or 'pending' if it has not settled within `ms`. */
const within = async <T>(p: Promise<T>, ms: number) => Promise.race([p.then((v) => ({ v })), new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))])

before(async () => {
  redis = await startRedis()
  connA = new RedisConnection({ url: redis.url, commandTimeoutMs: 2000 })
  connB = new RedisConnection({ url: redis.url, commandTimeoutMs: 2000 })
  await Promise.all([ready(connA), ready(connB)])
})
after(async () => {
  await connA?.close()
  await connB?.close()
  await redis?.close()
})

test('the next turn on another host waits for the open turn and reads its write', async () => {
  const a = new RedisSessionStore(connA, 's1:')
  const b = new RedisSessionStore(connB, 's1:')
  // Both hosts number their requests alike: the turn tokens may be equal.
  assert.equal(await a.get('conv', turn('1')), undefined)
  const next = b.get('conv', turn('1'))
  assert.equal(await within(next, 150), 'pending')
  await a.set('conv', 'turn one', 60_000, turn('1'))
  assert.deepEqual(await within(next, 2000), { v: 'turn one' })
  // B holds the conversation now; A's next read waits for B.
  const third = a.get('conv', turn('2'))
  assert.equal(await within(third, 100), 'pending')
  await b.set('conv', 'turn two', 60_000, turn('1'))
  assert.deepEqual(await within(third, 2000), { v: 'turn two' })
  a.release('conv', turn('2'))
  // Released: nothing left open.
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(redis.cli('EXISTS', 's1:session-turn:conv').trim(), '0')
  // A read without a turn never waits.
  await b.get('conv', turn('9'))
  assert.deepEqual(await within(a.get('conv'), 500), { v: 'turn two' })
  b.release('conv', turn('9'))
})

test('a released turn lets the next one read at once; ending a turn twice or one never opened is harmless', async () => {
  const a = new RedisSessionStore(connA, 's2:')
  const b = new RedisSessionStore(connB, 's2:')
  await a.set('conv', 'kept', 60_000)
  await a.get('conv', turn('1'))
  const next = b.get('conv', turn('1'))
  a.release('conv', turn('1'))
  a.release('conv', turn('1'))
  a.release('conv', turn('never'))
  assert.deepEqual(await within(next, 2000), { v: 'kept' })
  // A's stale release did not end B's turn.
  assert.equal(redis.cli('EXISTS', 's2:session-turn:conv').trim(), '1')
  b.release('conv', turn('1'))
})

test('an open turn is renewed past its key TTL; a host that stops renewing holds the conversation for that TTL only', async () => {
  const timing = { ttlMs: 300, renewMs: 100 }
  const a = new RedisSessionStore(connA, 's3:', timing)
  const b = new RedisSessionStore(connB, 's3:', timing)
  await a.get('conv', turn('1'))
  const waiting = b.get('conv', turn('1'))
  // Three key TTLs later A's turn is still open (renewed).
  assert.equal(await within(waiting, 900), 'pending')
  // A host gone mid-turn: a store whose connection is closed cannot renew.
  const gone = new RedisConnection({ url: redis.url, commandTimeoutMs: 2000 })
  await ready(gone)
  const dead = new RedisSessionStore(gone, 's3:', timing)
  await a.set('conv', 'from A', 60_000, turn('1'))
  assert.deepEqual(await within(waiting, 2000), { v: 'from A' })
  b.release('conv', turn('1'))
  await dead.get('other', turn('7'))
  await gone.close()
  const started = Date.now()
  assert.equal(await b.get('other', turn('8')), undefined)
  const waited = Date.now() - started
  assert.ok(waited >= 150 && waited < 2000, `waited ${waited} ms for a dead host's turn key (ttl 300 ms)`)
  b.release('other', turn('8'))
})

test("a turn's lease bounds the wait: past it the next turn reads anyway", async () => {
  const a = new RedisSessionStore(connA, 's4:')
  const b = new RedisSessionStore(connB, 's4:')
  await a.set('conv', 'before', 60_000)
  await a.get('conv', turn('1'))
  assert.deepEqual(await within(b.get('conv', turn('1', 200)), 2000), { v: 'before' })
  a.release('conv', turn('1'))
})

test('with Redis away a turn is SessionStoreUnavailable', async () => {
  const quick = new RedisConnection({ url: redis.url, commandTimeoutMs: 100 })
  await ready(quick)
  const s = new RedisSessionStore(quick, 's5:')
  redis.pause()
  try {
    await assert.rejects(s.get('conv', turn('1')), SessionStoreUnavailable)
    await assert.rejects(s.set('conv', 'x', 1000), SessionStoreUnavailable)
  } finally {
    redis.resume()
    await quick.close()
  }
})
