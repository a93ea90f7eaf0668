/**
 * The worker's Gateway: swap() publishes a snapshot in one step, requests keep the snapshot they
 * entered on, and a replaced snapshot is retired (its pool references released) exactly once, when
 * its last request leaves.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Gateway } from '../../src/runtime/gateway.js'
import { createStores } from '../../src/runtime/stores.js'
import type { PoolStore, Snapshot, Stores } from '../../src/runtime/types.js'

/** Stores whose pool releases are recorded, in order, by pool key. */
function recordingStores(): Stores & { released: string[] } {
  const released: string[] = []
  const pools: PoolStore = {
    acquire: () => assert.fail('the gateway never acquires a pool'),
    release: (key) => void released.push(key),
    closeAll: async () => {},
  }
  return { ...createStores(), pools, released }
}

/** A snapshot that holds one pool reference, named after its version. */
const snapshot = (version: string): Snapshot => ({ version, poolKeys: [`pool-of-${version}`] }) as unknown as Snapshot

test('a gateway has no current snapshot before the first swap', () => {
  assert.equal(new Gateway(recordingStores()).current, undefined)
})

test('swap makes the new snapshot current', () => {
  const gw = new Gateway(recordingStores())
  const a = snapshot('a')
  gw.swap(a)
  assert.equal(gw.current, a)
})

test('the first swap retires nothing', () => {
  const stores = recordingStores()
  new Gateway(stores).swap(snapshot('a'))
  assert.deepStrictEqual(stores.released, [])
})

test('a replaced snapshot with no request in flight is retired at once', () => {
  const stores = recordingStores()
  const gw = new Gateway(stores)
  gw.swap(snapshot('a'))
  gw.swap(snapshot('b'))
  assert.deepStrictEqual(stores.released, ['pool-of-a'])
})

test('a request keeps the snapshot it entered on across a swap', () => {
  const gw = new Gateway(recordingStores())
  const a = snapshot('a')
  gw.swap(a)
  const live = gw.enter()
  gw.swap(snapshot('b'))
  assert.equal(live.snapshot, a)
})

test('a request that enters after a swap gets the new snapshot', () => {
  const gw = new Gateway(recordingStores())
  gw.swap(snapshot('a'))
  const b = snapshot('b')
  gw.swap(b)
  assert.equal(gw.enter().snapshot, b)
})

test('a replaced snapshot is retired only when its last request leaves', () => {
  const stores = recordingStores()
  const gw = new Gateway(stores)
  gw.swap(snapshot('a'))
  const first = gw.enter()
  const second = gw.enter()
  gw.swap(snapshot('b'))
  gw.leave(first)
  assert.deepStrictEqual(stores.released, [], 'retired while a request was still on it')
  gw.leave(second)
  assert.deepStrictEqual(stores.released, ['pool-of-a'])
})

test('the current snapshot is not retired when its requests leave', () => {
  const stores = recordingStores()
  const gw = new Gateway(stores)
  gw.swap(snapshot('a'))
  gw.leave(gw.enter())
  assert.deepStrictEqual(stores.released, [])
})

test('snapshots replaced one after another retire each in turn as their requests end', () => {
  const stores = recordingStores()
  const gw = new Gateway(stores)
  gw.swap(snapshot('a'))
  const onA = gw.enter()
  gw.swap(snapshot('b'))
  const onB = gw.enter()
  gw.swap(snapshot('c'))
  gw.swap(snapshot('d'))
  assert.deepStrictEqual(stores.released, ['pool-of-c'], 'c had no request: retired at once')
  gw.leave(onB)
  gw.leave(onA)
  assert.deepStrictEqual(stores.released, ['pool-of-c', 'pool-of-b', 'pool-of-a'])
})

test('inflight counts the requests on every snapshot', () => {
  const gw = new Gateway(recordingStores())
  gw.swap(snapshot('a'))
  const onA = gw.enter()
  gw.swap(snapshot('b'))
  gw.enter()
  assert.equal(gw.inflight, 2)
  gw.leave(onA)
  assert.equal(gw.inflight, 1)
})

test('idle() resolves at once when no request is in flight', async () => {
  const gw = new Gateway(recordingStores())
  gw.swap(snapshot('a'))
  let done = false
  await gw.idle().then(() => (done = true))
  assert.equal(done, true)
})

test('idle() resolves when the last request in flight leaves, on whichever snapshot', async () => {
  const gw = new Gateway(recordingStores())
  gw.swap(snapshot('a'))
  const onA = gw.enter()
  gw.swap(snapshot('b'))
  const onB = gw.enter()
  let idle = false
  const waiting = gw.idle().then(() => (idle = true))
  gw.leave(onB)
  await Promise.resolve()
  assert.equal(idle, false, 'idle before the request on the old snapshot left')
  gw.leave(onA)
  await waiting
  assert.equal(idle, true)
})
