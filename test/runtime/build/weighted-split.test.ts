/**
 * weighted_clusters: random split by weight, zero weights never picked, sticky split by a header.
 * Picks go through the compiled route action (and once through dispatch) of a built snapshot.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { dispatch } from '../../../src/runtime/http/dispatch.js'
import type { CompiledAction, RequestHead, Snapshot } from '../../../src/runtime/types.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'
import { builtSnapshot } from '../../support/built-snapshot.js'

const N = 10_000

function build(t: TestContext, weightedClusters: string, extra = ''): Snapshot {
  const text = `
admin: { port: 0 }
listeners: [{ name: l, port: 8080, route_table: t, filters: ${extra ? '[strip-user]' : '[]'} }]
routes:
  - name: t
    rules:
      - name: split
        weighted_clusters:
${weightedClusters.replace(/^/gm, '          ')}
${extra}
clusters:
  - { name: a, provider: mock, mock: { reply: "variant a" } }
  - { name: b, provider: mock, mock: { reply: "variant b" } }
  - { name: c, provider: mock, mock: { reply: "variant c" } }
`
  return builtSnapshot(t, 'split.yaml', text)
}

function weighted(snap: Snapshot): Extract<CompiledAction, { kind: 'weighted' }> {
  const action = snap.listeners.get(8080)!.table.routes[0].action
  assert.equal(action.kind, 'weighted')
  return action as Extract<CompiledAction, { kind: 'weighted' }>
}

const head = (headers: Record<string, string> = {}): RequestHead => ({ method: 'POST', path: '/v1/chat/completions', query: '', headers, model: 'gpt-4o' })

/** Share of picks per cluster in percent, rounded to 0.1. */
function shares(picks: string[], names: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const n of names) out[n] = Math.round((picks.filter((p) => p === n).length / picks.length) * 1000) / 10
  return out
}

function assertWithin(actual: Record<string, number>, expected: Record<string, number>, tolerance: number) {
  const off = Object.keys(expected).filter((k) => Math.abs(actual[k] - expected[k]) > tolerance)
  assert.deepStrictEqual(off, [], `shares ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)} ± ${tolerance} points`)
}

test('an 80/20 split lands within 2.5 percentage points of its weights over 10k picks', (t) => {
  const action = weighted(build(t, 'clusters: [{ name: a, weight: 80 }, { name: b, weight: 20 }]'))
  const picks = Array.from({ length: N }, () => action.pick(head()).name)
  assertWithin(shares(picks, ['a', 'b']), { a: 80, b: 20 }, 2.5)
})

test('a three-way 50/30/20 split lands within 2.5 percentage points of its weights', (t) => {
  const action = weighted(build(t, 'clusters: [{ name: a, weight: 5 }, { name: b, weight: 3 }, { name: c, weight: 2 }]'))
  const picks = Array.from({ length: N }, () => action.pick(head()).name)
  assertWithin(shares(picks, ['a', 'b', 'c']), { a: 50, b: 30, c: 20 }, 2.5)
})

test('a zero-weight cluster is never picked', (t) => {
  const action = weighted(build(t, 'clusters: [{ name: a, weight: 1 }, { name: b, weight: 0 }, { name: c, weight: 1 }]'))
  const picks = new Set(Array.from({ length: N }, () => action.pick(head()).name))
  assert.deepStrictEqual([...picks].sort(), ['a', 'c'])
})

test('a zero-weight cluster listed last is never picked', (t) => {
  const action = weighted(build(t, 'clusters: [{ name: a, weight: 3 }, { name: b, weight: 0 }]'))
  const picks = new Set(Array.from({ length: N }, () => action.pick(head()).name))
  assert.deepStrictEqual([...picks], ['a'])
})

test('the split describes every configured cluster, zero weights included', (t) => {
  const action = weighted(build(t, 'clusters: [{ name: a, weight: 1 }, { name: b, weight: 0 }]'))
  assert.deepStrictEqual(action.describe, [{ name: 'a', weight: 1 }, { name: 'b', weight: 0 }])
})

const sticky = `
hash_on: { header: X-User-Id }
clusters: [{ name: a, weight: 80 }, { name: b, weight: 20 }]`

test('with hash_on, the same header value always lands in the same cluster', (t) => {
  const action = weighted(build(t, sticky))
  const unstable: string[] = []
  for (let u = 0; u < 500; u++) {
    const key = `user-${u}`
    const seen = new Set(Array.from({ length: 20 }, () => action.pick(head({ 'x-user-id': key })).name))
    if (seen.size !== 1) unstable.push(key)
  }
  assert.deepStrictEqual(unstable, [])
})

test('with hash_on, the same header value lands in the same cluster after a rebuild', (t) => {
  const first = weighted(build(t, sticky))
  const second = weighted(build(t, sticky))
  const keys = Array.from({ length: 500 }, (_, u) => `user-${u}`)
  const differ = keys.filter((k) => first.pick(head({ 'x-user-id': k })).name !== second.pick(head({ 'x-user-id': k })).name)
  assert.deepStrictEqual(differ, [])
})

test('with hash_on, different header values spread roughly by weight', (t) => {
  const action = weighted(build(t, sticky))
  const picks = Array.from({ length: N }, (_, u) => action.pick(head({ 'x-user-id': `user-${u}` })).name)
  assertWithin(shares(picks, ['a', 'b']), { a: 80, b: 20 }, 2.5)
})

test('with hash_on, UUID-like header values spread roughly by weight', (t) => {
  const action = weighted(build(t, sticky))
  const picks = Array.from({ length: N }, (_, u) => action.pick(head({ 'x-user-id': crypto.randomUUID() + u })).name)
  assertWithin(shares(picks, ['a', 'b']), { a: 80, b: 20 }, 2.5)
})

test('with hash_on, a request without the header is split at random by weight', (t) => {
  const action = weighted(build(t, sticky))
  const picks = Array.from({ length: N }, () => action.pick(head({ 'x-other': 'same' })).name)
  assertWithin(shares(picks, ['a', 'b']), { a: 80, b: 20 }, 2.5)
})

test('with hash_on, the header is looked up by its lower-cased name', (t) => {
  const action = weighted(build(t, sticky))
  assert.equal(action.hashHeader, 'x-user-id')
})

test('dispatch sends a sticky user to the same variant every time', async (t) => {
  const snap = build(t, sticky)
  const listener = snap.listeners.get(8080)!
  const replies = new Set<string>()
  for (let i = 0; i < 20; i++) {
    const down = new MemoryDownstream()
    const body = Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }))
    dispatch(snap, listener, { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json', 'x-user-id': 'user-7' }, body }, down)
    await down.done
    replies.add(down.json().choices[0].message.content)
  }
  assert.equal(replies.size, 1)
})

test('a filter that strips the hash header before the upstream call does not break stickiness', async (t) => {
  const snap = build(t, sticky, 'filters: [{ name: strip-user, type: headers, config: { request: { remove: [x-user-id] } } }]')
  const listener = snap.listeners.get(8080)!
  const variantOf = async (user: string) => {
    const down = new MemoryDownstream()
    const body = Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }))
    const ctx = dispatch(snap, listener, { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json', 'x-user-id': user }, body }, down)
    await down.done
    assert.equal(ctx.headers['x-user-id'], undefined, 'the filter removed the header from the upstream request')
    return ctx.cluster!.name
  }
  const expected = weighted(snap)
  const users = Array.from({ length: 40 }, (_, i) => `user-${i}`)
  const wanted = users.map((u) => expected.pick(head({ 'x-user-id': u })).name)
  const got: string[] = []
  for (const u of users) got.push(await variantOf(u))
  assert.deepStrictEqual(got, wanted)
})
