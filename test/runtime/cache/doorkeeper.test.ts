/**
 * The doorkeeper (recent sightings of key hashes, two generations) and the memory tier's admission
 * built on it: no false negatives within a generation, aging, sharing across tiers on one buffer,
 * and the tier's "at its bound" signal.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Doorkeeper } from '../../../src/runtime/cache/doorkeeper.js'
import { MemoryTier } from '../../../src/runtime/cache/memory-tier.js'

const doorkeeper = (perGeneration: number, buffer = new SharedArrayBuffer(Doorkeeper.bytesFor(perGeneration))) =>
  new Doorkeeper(new Int32Array(buffer), perGeneration)

/** Distinct, well-spread 32-bit hashes (a fixed sequence: the test is deterministic). */
const hashes = (n: number, from = 0) => Array.from({ length: n }, (_, i) => Math.imul(i + from + 1, 0x9e3779b1) | 0)

test('every hash sighted in the current generation is seen, and a second sighting says so', () => {
  const d = doorkeeper(4096)
  const hs = hashes(4000)
  for (const h of hs) d.sight(h)
  assert.equal(hs.filter((h) => !d.seen(h)).length, 0)
  assert.equal(hs.filter((h) => !d.sight(h)).length, 0)
})

test('a hash never sighted is mostly not seen (false positives of the bit set, bounded)', () => {
  const d = doorkeeper(4096)
  for (const h of hashes(4000)) d.sight(h)
  const fresh = hashes(4000, 1_000_000)
  const falsePositives = fresh.filter((h) => d.seen(h)).length
  // 16 bits per sighting, two bits per key: ≈1.4 % at a full generation; 4 % leaves room for the hash.
  assert.ok(falsePositives < 0.04 * fresh.length, `${falsePositives} of ${fresh.length}`)
  const first = doorkeeper(4096)
  assert.equal(first.sight(hashes(1)[0]), false, 'the very first sighting of a key')
})

test('a sighting is remembered into the next generation and forgotten after two', () => {
  const per = 256
  const d = doorkeeper(per)
  const key = 0x12345678
  d.sight(key)
  // Half a generation later, and into the next one: still seen.
  for (const h of hashes(per / 2, 10)) d.sight(h)
  assert.equal(d.seen(key), true)
  for (const h of hashes(per, 10_000)) d.sight(h)
  assert.equal(d.seen(key), true, 'the key is in the older generation now')
  // Two more generations of other keys: both of the generations that could hold it were cleared.
  for (const h of hashes(2 * per + 8, 20_000)) d.sight(h)
  assert.equal(d.seen(key), false)
  assert.equal(d.sight(key), false, 'a sighting after it was forgotten is a first one again')
})

test('two doorkeepers on the same words (two workers) see each other\'s sightings', () => {
  const buffer = new SharedArrayBuffer(Doorkeeper.bytesFor(1024))
  const a = doorkeeper(1024, buffer)
  const b = doorkeeper(1024, buffer)
  assert.equal(a.sight(42), false)
  assert.equal(b.sight(42), true)
})

test('a doorkeeper refuses words of the wrong size', () => {
  assert.throws(() => new Doorkeeper(new Int32Array(Doorkeeper.bytesFor(1024) / 4 - 1), 1024), /not a doorkeeper of this size/)
  assert.throws(() => new Doorkeeper(new Int32Array(Doorkeeper.bytesFor(1024) / 4), 0), /not a doorkeeper of this size/)
})

/** A tier whose values never expire (the entry header is not this test's subject). */
const tier = (maxBytes: number, buffer?: SharedArrayBuffer) => new MemoryTier(maxBytes, { buffer, expiresAt: () => Infinity })

test('the memory tier admits every key while it has room, and at its bound only a key sighted before', () => {
  const t = tier(8 * 1024)
  const value = Buffer.alloc(900, 1)
  let i = 0
  while (!t.atBound()) {
    assert.equal(t.admits(`room-${i}`), true, 'with room, every key is admitted')
    t.set(`room-${i++}`, value)
    assert.ok(i < 100, 'the tier never reached its bound')
  }
  const evictions = t.stats().evictions
  assert.equal(t.admits('one-off'), false, 'full: a key seen for the first time')
  assert.equal(t.admits('one-off'), true, 'its second sighting')
  assert.equal(t.stats().evictions, evictions, 'admission evicts nothing')
})

test('a tier that is not at its bound: empty, or full of deleted records after a purge', () => {
  const t = tier(8 * 1024)
  assert.equal(t.atBound(), false)
  for (let i = 0; i < 40; i++) t.set(`k${i}`, Buffer.alloc(900, 1))
  assert.equal(t.atBound(), true)
  t.deleteWhere(() => true)
  assert.equal(t.atBound(), false, 'evicting dead records costs nothing: not at the bound')
  assert.equal(t.admits('fresh'), true)
})

test('tiers on one shared buffer (the workers of a process) share the sightings', () => {
  const buffer = MemoryTier.createBuffer(8 * 1024)
  const a = tier(8 * 1024, buffer)
  const b = tier(8 * 1024, buffer)
  for (let i = 0; i < 40; i++) a.set(`k${i}`, Buffer.alloc(900, 1))
  assert.equal(a.admits('asked-in-worker-a'), false)
  assert.equal(b.admits('asked-in-worker-a'), true)
})
