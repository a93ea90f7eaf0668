/**
 * The semantic cache's vector index: nearest within a scope only, exact below EXACT_UP_TO entries
 * and through usearch's HNSW index above (the answers agree), bounded by entries and bytes
 * (oldest first), TTL, replacement by answer key, and one vector length per index.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EXACT_UP_TO, VectorIndex } from '../../../../src/runtime/cache/semantic/vector-index.js'

const DIMS = 32
function unit(seed: number): Float32Array {
  // xorshift: deterministic pseudo-random vectors
  let x = seed * 2654435761 || 1
  const v = new Float32Array(DIMS)
  let n = 0
  for (let i = 0; i < DIMS; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    v[i] = ((x >>> 0) / 0xffffffff) - 0.5
    n += v[i] * v[i]
  }
  for (let i = 0; i < DIMS; i++) v[i] /= Math.sqrt(n)
  return v
}
const later = Date.now() + 60_000

test('the nearest stored prompt of the same scope is found, with its cosine similarity', () => {
  const ix = new VectorIndex(100, 1 << 20)
  ix.add('a', 'k1', unit(1), later)
  ix.add('a', 'k2', unit(2), later)
  ix.add('b', 'k3', unit(3), later)
  const near = ix.nearest('a', unit(2))!
  assert.equal(near.key, 'k2')
  assert.ok(Math.abs(near.similarity - 1) < 1e-5)
  assert.equal(ix.nearest('b', unit(2))!.key, 'k3', 'only scope b is searched')
  assert.equal(ix.nearest('c', unit(2)), undefined)
})

test('a partition past EXACT_UP_TO entries is searched through HNSW and finds what the exact scan finds', () => {
  const ix = new VectorIndex(10_000, 64 << 20)
  const n = EXACT_UP_TO * 4
  for (let i = 0; i < n; i++) ix.add('s', `k${i}`, unit(i + 1), later)
  assert.equal(ix.stats().hnswPartitions, 1)
  let agree = 0
  for (let q = 0; q < 50; q++) {
    const v = unit(10_000 + q)
    let best = -2
    let bestKey = ''
    for (let i = 0; i < n; i++) {
      const u = unit(i + 1)
      let s = 0
      for (let j = 0; j < DIMS; j++) s += u[j] * v[j]
      if (s > best) { best = s; bestKey = `k${i}` }
    }
    if (ix.nearest('s', v)!.key === bestKey) agree++
  }
  assert.ok(agree >= 45, `HNSW agreed with the exact nearest neighbour ${agree}/50 times`)
  for (let i = 0; i < 20; i++) assert.equal(ix.nearest('s', unit(i + 1))!.key, `k${i}`, 'a stored vector finds itself')
})

test('the index keeps at most max_entries, the oldest going first', () => {
  const ix = new VectorIndex(3, 1 << 20)
  for (let i = 0; i < 5; i++) ix.add('s', `k${i}`, unit(i + 1), later)
  assert.deepStrictEqual([ix.size, ix.stats().evictions], [3, 2])
  assert.notEqual(ix.nearest('s', unit(1))!.key, 'k0')
  assert.equal(ix.nearest('s', unit(5))!.key, 'k4')
})

test('the index keeps at most max_bytes', () => {
  const ix = new VectorIndex(1000, 4096)
  for (let i = 0; i < 50; i++) ix.add(`s${i}`, `k${i}`, unit(i + 1), later)
  assert.ok(ix.stats().bytes <= 4096, `${ix.stats().bytes} bytes`)
  assert.ok(ix.size > 0 && ix.size < 50)
})

test('expired entries are never answered and are swept on insert', () => {
  const ix = new VectorIndex(100, 1 << 20)
  const now = Date.now()
  ix.add('s', 'old', unit(1), now + 10, now)
  assert.equal(ix.nearest('s', unit(1), now + 20), undefined)
  ix.add('s', 'new', unit(2), now + 10_000, now + 20)
  assert.deepStrictEqual([ix.size, ix.stats().expired], [1, 1])
})

test('storing the same answer key again replaces its vector', () => {
  const ix = new VectorIndex(100, 1 << 20)
  ix.add('s', 'k', unit(1), later)
  ix.add('s', 'k', unit(2), later)
  assert.equal(ix.size, 1)
  assert.ok(ix.nearest('s', unit(2))!.similarity > 0.9999)
})

test('a vector of another length is refused and never searched', () => {
  const ix = new VectorIndex(100, 1 << 20)
  ix.add('s', 'k', unit(1), later)
  assert.equal(ix.add('s', 'k2', new Float32Array(8).fill(0.35), later), false)
  assert.equal(ix.nearest('s', new Float32Array(8).fill(0.35)), undefined)
})
