import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRingHash, hash32, type RingHashConfig } from '../../../src/runtime/lb/ring-hash.js'
import type { CompiledEndpoint, RequestHead } from '../../../src/runtime/types.js'
import { counts, endpoints } from '../../support/lb-endpoints.js'

const config: RingHashConfig = { minRingSize: 256, maxRingSize: 65536 }
const head = (headers: Record<string, string> = {}): RequestHead => ({ method: 'POST', path: '/v1/chat/completions', query: '', headers, model: undefined })
const name = (e: CompiledEndpoint) => e.url.slice('mock://'.length)
const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`)

function owners(lb: ReturnType<typeof createRingHash>): string[] {
  return keys.map((k) => name(lb.pick(head(), k)))
}

/** A deterministic uniform sequence (LCG) for the random fallback. */
function seeded(seed = 1): () => number {
  let s = seed
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 0x100000000)
}

test('the hash function is stable, so keys keep their endpoint across versions and hosts', () => {
  assert.deepStrictEqual(['', 'a', 'user-42'].map(hash32), [2872998923, 444641715, 2083131798])
})

test('the same key always lands on the same endpoint', () => {
  const lb = createRingHash(endpoints('a', 'b', 'c'), config)
  const first = name(lb.pick(head(), 'user-7'))
  assert.deepStrictEqual(Array.from({ length: 20 }, () => name(lb.pick(head(), 'user-7'))), Array(20).fill(first))
})

test('keys spread evenly over equally weighted endpoints', () => {
  const c = counts(owners(createRingHash(endpoints('a', 'b', 'c', 'd'), config)))
  for (const n of ['a', 'b', 'c', 'd']) assert.ok(Math.abs(c[n] - 2500) < 400, `${n} got ${c[n]} of 10000`)
})

test('shares follow endpoint weights', () => {
  const c = counts(owners(createRingHash(endpoints(['a', 3], ['b', 1]), config)))
  assert.ok(Math.abs(c.a / 10_000 - 0.75) < 0.05, JSON.stringify(c))
})

test('endpoints with weight 0 get no keys', () => {
  assert.deepStrictEqual(Object.keys(counts(owners(createRingHash(endpoints('a', ['b', 0]), config)))), ['a'])
})

test('a ring without any weighted endpoint is rejected when it is built', () => {
  assert.throws(() => createRingHash(endpoints(['a', 0]), config), { message: 'ring hash needs at least one endpoint with a weight above 0' })
})

test('removing an endpoint moves only the keys it owned', () => {
  const before = owners(createRingHash(endpoints('a', 'b', 'c', 'd'), config))
  const after = owners(createRingHash(endpoints('a', 'b', 'd'), config))
  const moved = keys.filter((_, i) => before[i] !== after[i] && before[i] !== 'c')
  assert.deepStrictEqual(moved, [])
})

test('adding an endpoint takes about its share of keys and moves no others', () => {
  const before = owners(createRingHash(endpoints('a', 'b', 'c'), config))
  const after = owners(createRingHash(endpoints('a', 'b', 'c', 'd'), config))
  const changed = keys.filter((_, i) => before[i] !== after[i])
  const allToNew = keys.every((_, i) => before[i] === after[i] || after[i] === 'd')
  assert.deepStrictEqual({ allToNew, share: Math.abs(changed.length / 10_000 - 0.25) < 0.05 }, { allToNew: true, share: true })
})

test('the lightest endpoint gets the minimum ring size in points and the others in proportion', () => {
  assert.deepStrictEqual([
    createRingHash(endpoints('a', 'b', 'c'), config).size,
    createRingHash(endpoints(['a', 4], ['b', 2]), { minRingSize: 10, maxRingSize: 100 }).size,
  ], [768, 30])
})

test('the ring never exceeds the maximum size', () => {
  assert.equal(createRingHash(endpoints('a', 'b', 'c'), { minRingSize: 100_000, maxRingSize: 3001 }).size, 3000)
})

test('the key comes from the configured extractor', () => {
  const lb = createRingHash(endpoints('a', 'b', 'c'), config, { keyOf: (h) => h.headers['x-session-id'] })
  assert.equal(name(lb.pick(head({ 'x-session-id': 'user-1' }))), name(lb.pick(head(), 'user-1')))
})

test('an explicit key overrides the extractor', () => {
  const lb = createRingHash(endpoints('a', 'b', 'c'), config, { keyOf: () => 'ignored' })
  const plain = createRingHash(endpoints('a', 'b', 'c'), config)
  assert.deepStrictEqual(keys.slice(0, 50).map((k) => name(lb.pick(head(), k))), keys.slice(0, 50).map((k) => name(plain.pick(head(), k))))
})

test('requests without a key are spread randomly by weight', () => {
  const lb = createRingHash(endpoints(['a', 3], ['b', 1]), config, { keyOf: () => undefined, random: seeded() })
  const c = counts(Array.from({ length: 10_000 }, () => name(lb.pick(head()))))
  assert.ok(Math.abs(c.a / 10_000 - 0.75) < 0.05, JSON.stringify(c))
})

test('an ineligible owner is skipped for the next eligible endpoint on the ring', () => {
  const eps = endpoints('a', 'b', 'c', 'd')
  const all = owners(createRingHash(eps, config))
  const skipping = owners(createRingHash(eps, config, { eligible: (e) => name(e) !== 'c' }))
  const diff = keys.filter((_, i) => all[i] !== skipping[i])
  assert.deepStrictEqual({
    noneOnC: !skipping.includes('c'),
    onlyCsKeysMoved: keys.every((_, i) => all[i] === 'c' || all[i] === skipping[i]),
    moved: diff.length > 0,
  }, { noneOnC: true, onlyCsKeysMoved: true, moved: true })
})

test('the keys of an ineligible endpoint spread over the others rather than one neighbour', () => {
  const eps = endpoints('a', 'b', 'c', 'd')
  const all = owners(createRingHash(eps, config))
  const skipping = owners(createRingHash(eps, config, { eligible: (e) => name(e) !== 'c' }))
  const heirs = counts(skipping.filter((_, i) => all[i] === 'c'))
  assert.deepStrictEqual(Object.keys(heirs).sort(), ['a', 'b', 'd'])
})

test('when no endpoint is eligible the owner of the key is returned anyway', () => {
  const eps = endpoints('a', 'b', 'c')
  const plain = createRingHash(eps, config)
  const none = createRingHash(eps, config, { eligible: () => false })
  assert.deepStrictEqual(keys.slice(0, 100).map((k) => name(none.pick(head(), k))), keys.slice(0, 100).map((k) => name(plain.pick(head(), k))))
})

test('a single endpoint is always picked', () => {
  const lb = createRingHash(endpoints('a'), config, { eligible: () => false })
  assert.deepStrictEqual(Object.keys(counts(owners(lb))), ['a'])
})
