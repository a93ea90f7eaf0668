import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually } from '../support/eventually.js'
import { SessionMemory, SessionMemoryHost, type SessionReply, type SessionRequest } from '../../src/shared/session-memory.js'

test('records expire after their TTL', () => {
  const m = new SessionMemory(10_000)
  m.set('k', 'v', 100, 1000)
  assert.equal(m.get('k', 1099), 'v')
  assert.equal(m.get('k', 1100), undefined)
  assert.equal(m.stats().records, 0)
})

test('the least recently used records go first when the bytes run out', () => {
  const m = new SessionMemory(1200)
  for (const k of ['a', 'b', 'c']) m.set(k, 'x'.repeat(150), 60_000)
  m.get('a')
  m.set('d', 'x'.repeat(150), 60_000)
  assert.equal(m.get('b'), undefined, 'b was the least recently used')
  assert.equal(m.get('a'), 'x'.repeat(150))
  assert.ok(m.stats().bytes <= 1200)
  assert.equal(m.stats().evictions, 1)
})

test('a record larger than the store is not kept and removes the older one', () => {
  const m = new SessionMemory(200)
  m.set('k', 'small', 60_000)
  m.set('k', 'x'.repeat(500), 60_000)
  assert.equal(m.get('k'), undefined)
  assert.equal(m.stats().bytes, 0)
})

/** Calls on the host as a worker would make them, replies collected. */
function caller(host: SessionMemoryHost) {
  const owner = {}
  let id = 0
  return (m: { op: SessionRequest['op']; key: string; [k: string]: unknown }) => {
    const replies: SessionReply[] = []
    host.handle({ ...m, id: ++id, store: 1 << 20 } as unknown as SessionRequest, owner, (r) => replies.push(r))
    return replies
  }
}

/** One turn of the event loop: a miss is answered after it (the host reads it again then). */
const turn = () => new Promise((r) => setImmediate(r))

test("a conversation's next turn waits for the open turn's write, then reads it", async () => {
  const host = new SessionMemoryHost()
  const a = caller(host)
  const b = caller(host)
  const first = a({ op: 'get', key: 'k', lock: { token: 't1', leaseMs: 60_000 } })
  await turn()
  assert.deepEqual(first, [{ id: 1 }])
  const waiting = b({ op: 'get', key: 'k', lock: { token: 't2', leaseMs: 60_000 } })
  assert.deepEqual(waiting, [], 'the second turn waits')
  const plain = b({ op: 'get', key: 'k' })
  await turn()
  assert.deepEqual(plain, [{ id: 2 }], 'a plain read does not wait')
  a({ op: 'set', key: 'k', value: 'turn 1', ttlMs: 60_000, token: 't1' })
  assert.deepEqual(waiting, [{ id: 1, value: 'turn 1' }])
  // t2 now holds the turn; a release lets the next one in.
  const third = a({ op: 'get', key: 'k', lock: { token: 't3', leaseMs: 60_000 } })
  assert.deepEqual(third, [])
  b({ op: 'release', key: 'k', token: 'wrong' })
  assert.deepEqual(third, [], 'only the holder releases')
  b({ op: 'release', key: 'k', token: 't2' })
  assert.deepEqual(third, [{ id: 3, value: 'turn 1' }])
})

test('a miss is answered after the writes already queued in the same turn (another worker\'s port drained later)', async () => {
  const host = new SessionMemoryHost()
  const reader = caller(host)
  const writer = caller(host)
  const read = reader({ op: 'get', key: 'resp_1' })
  writer({ op: 'set', key: 'resp_1', value: 'the answer', ttlMs: 60_000 })
  assert.deepEqual(read, [], 'not answered within the turn')
  await turn()
  assert.deepEqual(read, [{ id: 1, value: 'the answer' }])
})

test('a miss of a record the caller knows was written (expectMs) waits for its write, up to expectMs', async () => {
  const host = new SessionMemoryHost()
  const reader = caller(host)
  const writer = caller(host)
  const read = reader({ op: 'get', key: 'resp_2', expectMs: 2000 })
  await new Promise((r) => setTimeout(r, 50))
  assert.deepEqual(read, [], 'still waiting for the write')
  writer({ op: 'set', key: 'resp_2', value: 'late answer', ttlMs: 60_000 })
  assert.deepEqual(read, [{ id: 1, value: 'late answer' }])
  const t0 = Date.now()
  const never = reader({ op: 'get', key: 'resp_missing', expectMs: 60 })
  while (never.length === 0) await new Promise((r) => setTimeout(r, 10))
  assert.deepEqual(never, [{ id: 2 }])
  assert.ok(Date.now() - t0 >= 55, 'the miss waited its expectMs')
})

test('an open turn ends by itself after its lease', async () => {
  const host = new SessionMemoryHost()
  const a = caller(host)
  a({ op: 'get', key: 'k', lock: { token: 't1', leaseMs: 20 } })
  const next = a({ op: 'get', key: 'k', lock: { token: 't2', leaseMs: 20 } })
  assert.deepEqual(next, [])
  // The lease runs out on a timer: poll for the handover rather than betting on 40 ms.
  await eventually(() => next.length === 1, undefined, 'the waiting turn to be granted after the lease')
  assert.equal(next.length, 1)
})
