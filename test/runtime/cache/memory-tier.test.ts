/** The memory tier: bounded by bytes, not entries; expiry read from each value (an entry header's, or the test's own). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryTier } from '../../../src/runtime/cache/memory-tier.js'

/** Values that say when they expire: the tier reads expiry from the value, as from an entry's header. */
const expiries = new WeakMap<Buffer, number>()
const expiring = (b: Buffer, ttlMs: number) => (expiries.set(b, Date.now() + ttlMs), b)
const never = () => Number.MAX_SAFE_INTEGER
const byValue = (v: Buffer) => expiries.get(v) ?? 0

test('10k distinct entries never hold more than max_bytes, and the newest stay', () => {
  const tier = new MemoryTier(1024 * 1024, never)
  const value = Buffer.alloc(500, 'x')
  for (let i = 0; i < 10_000; i++) {
    tier.set(`key-${i}`, value)
    assert.ok(tier.stats().bytes <= 1024 * 1024)
  }
  const s = tier.stats()
  // 500 bytes + key + 64 overhead per entry: about 1 MiB / 573 bytes of them.
  assert.ok(s.entries > 1700 && s.entries < 1900, `entries: ${s.entries}`)
  assert.equal(s.evictions, 10_000 - s.entries)
  assert.ok(tier.get('key-9999') !== undefined)
  assert.equal(tier.get('key-0'), undefined)
})

test('an entry larger than the whole tier is not kept', () => {
  const tier = new MemoryTier(1000, never)
  tier.set('big', Buffer.alloc(2000))
  assert.deepStrictEqual([tier.get('big'), tier.stats().entries], [undefined, 0])
})

test('an entry is not returned after its TTL', async () => {
  const tier = new MemoryTier(1 << 20, byValue)
  tier.set('short', expiring(Buffer.from('a'), 40))
  tier.set('long', expiring(Buffer.from('b'), 60_000))
  assert.ok(tier.get('short'))
  await new Promise((r) => setTimeout(r, 80))
  assert.deepStrictEqual([tier.get('short'), tier.get('long')?.toString()], [undefined, 'b'])
  assert.equal(tier.stats().entries, 1, 'the expired entry met by the lookup is deleted')
})

test('deleteWhere removes only the entries its test accepts', () => {
  const tier = new MemoryTier(1 << 20, never)
  tier.set('a', Buffer.from('tenant-a'))
  tier.set('b', Buffer.from('tenant-b'))
  assert.equal(tier.deleteWhere((v) => v.toString() === 'tenant-a'), 1)
  assert.deepStrictEqual([tier.get('a'), tier.get('b')?.toString()], [undefined, 'tenant-b'])
})

test('by default the expiry is the entry header\'s', async () => {
  const { encodeEntry } = await import('../../../src/runtime/cache/entry-header.js')
  const now = Date.now()
  const entry = (ttlMs: number) => encodeEntry({ v: 2, storedAt: now, expiresAt: now + ttlMs, route: 'r', tenant: 't', op: 'chat', streamed: false }, [Buffer.from('{}')], 2)!
  const tier = new MemoryTier(1 << 20)
  tier.set('gone', entry(-1))
  tier.set('kept', entry(60_000))
  assert.deepStrictEqual([tier.get('gone'), tier.get('kept') !== undefined], [undefined, true])
})
