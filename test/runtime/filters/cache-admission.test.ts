/**
 * `cache` filter admission (`admission: seen_twice_when_full`, the default): with room every
 * complete success is stored; with the memory tier at its bound a one-off question is not captured
 * nor stored (counted admissionRejected) and is stored on its second sighting; single flight still
 * makes one upstream call for concurrent identical misses, the leader handing its answer to waiters.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { dispatch, type IncomingRequest } from '../../../src/runtime/http/dispatch.js'
import type { Snapshot } from '../../../src/runtime/types.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'
import { cacheFilterConfig } from '../../support/cache-filter-config.js'
import { builtSnapshot } from '../../support/built-snapshot.js'
import { createStores } from '../../../src/runtime/stores.js'
import type { CacheStoreView } from '../../../src/runtime/cache/cache-store.js'

const config = cacheFilterConfig

/** A snapshot and the view of its one response cache (counts, memory tier). */
function built(t: TestContext, text: string): { snap: Snapshot; view: () => CacheStoreView } {
  const stores = createStores()
  const snap = builtSnapshot(t, 'cache.yaml', text, stores)
  // A copy: describe() hands out the live counts objects.
  return { snap, view: () => structuredClone(stores.responseCaches()[0].describe()) }
}

const ask = (content: string) => ({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content }] })

async function answer(snap: Snapshot, body: object): Promise<{ cache: string | undefined; text: string }> {
  const incoming: IncomingRequest = { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) }
  const down = new MemoryDownstream()
  dispatch(snap, snap.listeners.get(8080)!, incoming, down)
  await down.done
  return { cache: down.headers.find(([k]) => k === 'x-switchyard-cache')?.[1], text: down.text() }
}

/** Distinct questions until the first one is not admitted: the tier is at its bound. Returns how many were asked. */
async function fill(snap: Snapshot, view: () => CacheStoreView): Promise<number> {
  for (let i = 0; ; i++) {
    assert.ok(i < 500, 'the tier never reached its bound')
    await answer(snap, ask(`filler ${i}`))
    if (view().routes.chat.admissionRejected > 0) return i + 1
  }
}

// 4 KiB of entries: a handful of the mock's answers.
const SMALL = '{ memory: { max_bytes: 4kb }, max_entry_size: 4kb }'

test('with room, every answer is stored and a second identical request hits', async (t) => {
  const { snap, view } = built(t, config('{}'))
  for (let i = 0; i < 20; i++) assert.equal((await answer(snap, ask(`q${i}`))).cache, 'miss')
  for (let i = 0; i < 20; i++) assert.equal((await answer(snap, ask(`q${i}`))).cache, 'hit')
  const c = view().routes.chat
  assert.deepStrictEqual([c.miss, c.stored, c.hit, c.admissionRejected], [20, 20, 20, 0])
})

test('at its bound the tier rejects a one-off question, then admits it on its second sighting', async (t) => {
  const { snap, view } = built(t, config(SMALL))
  const asked = await fill(snap, view)
  const before = view()
  assert.equal(before.routes.chat.stored, asked - 1, 'every filler stored until the tier was at its bound')
  assert.ok(before.memory.entries > 0)
  assert.equal((await answer(snap, ask('one-off'))).cache, 'miss')
  const after1 = view()
  assert.equal(after1.routes.chat.admissionRejected, before.routes.chat.admissionRejected + 1)
  assert.equal(after1.routes.chat.stored, before.routes.chat.stored, 'not stored')
  assert.deepStrictEqual([after1.memory.entries, after1.memory.evictions], [before.memory.entries, before.memory.evictions], 'nothing evicted for it')
  // Asked again: seen before, so stored (evicting the oldest), and the third time it hits.
  assert.equal((await answer(snap, ask('one-off'))).cache, 'miss')
  assert.equal(view().routes.chat.stored, before.routes.chat.stored + 1)
  assert.equal(view().routes.chat.admissionRejected, after1.routes.chat.admissionRejected)
  const third = await answer(snap, ask('one-off'))
  assert.equal(third.cache, 'hit')
  assert.equal(JSON.parse(third.text).choices[0].message.content, 'Cached words.')
})

test('admission: always stores every answer in a full tier, evicting the oldest', async (t) => {
  const { snap, view } = built(t, config('{ memory: { max_bytes: 4kb }, max_entry_size: 4kb, admission: always }'))
  for (let i = 0; i < 40; i++) await answer(snap, ask(`filler ${i}`))
  const c = view()
  assert.deepStrictEqual([c.routes.chat.stored, c.routes.chat.admissionRejected], [40, 0])
  assert.ok(c.memory.evictions > 0 && c.memory.evictions === 40 - c.memory.entries, JSON.stringify(c.memory))
  assert.equal((await answer(snap, ask('filler 39'))).cache, 'hit')
})

test('a refresh (Cache-Control: no-cache) is stored in a full tier even on its first sighting', async (t) => {
  const { snap, view } = built(t, config(SMALL))
  await fill(snap, view)
  const stored = view().routes.chat.stored
  const incoming: IncomingRequest = { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json', 'cache-control': 'no-cache' }, body: Buffer.from(JSON.stringify(ask('refreshed'))) }
  const down = new MemoryDownstream()
  dispatch(snap, snap.listeners.get(8080)!, incoming, down)
  await down.done
  assert.equal(view().routes.chat.stored, stored + 1)
  assert.equal((await answer(snap, ask('refreshed'))).cache, 'hit')
})

test('a full tier: 50 concurrent identical misses of a new key make one upstream call, the waiters get its answer', async (t) => {
  const { snap, view } = built(t, config(SMALL, '{ reply: "Cached words.", latency: 50ms }'))
  await fill(snap, view)
  const rejected = view().routes.chat.admissionRejected
  const all = await Promise.all(Array.from({ length: 50 }, () => answer(snap, ask('asked by fifty'))))
  const fromProvider = all.filter((a) => JSON.parse(a.text).id.startsWith('chatcmpl-mock-'))
  assert.deepStrictEqual([fromProvider.length, all.filter((a) => a.cache === 'hit').length], [1, 49])
  // The leader was not admitted on its own sighting, but its waiters were the second: it is stored.
  assert.equal(view().routes.chat.admissionRejected, rejected + 1)
  assert.equal((await answer(snap, ask('asked by fifty'))).cache, 'hit')
})
