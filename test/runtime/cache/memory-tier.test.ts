/** The memory tier: bounded by bytes, not entries; TTL per entry. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryTier } from '../../../src/runtime/cache/memory-tier.js'

test('10k distinct entries never hold more than max_bytes, and the newest stay', () => {
  const tier = new MemoryTier(1024 * 1024)
  const value = Buffer.alloc(500, 'x')
  for (let i = 0; i < 10_000; i++) {
    tier.set(`key-${i}`, value, 60_000)
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
  const tier = new MemoryTier(1000)
  tier.set('big', Buffer.alloc(2000), 60_000)
  assert.deepStrictEqual([tier.get('big'), tier.stats().entries], [undefined, 0])
})

test('an entry is not returned after its TTL', async () => {
  const tier = new MemoryTier(1 << 20)
  tier.set('short', Buffer.from('a'), 40)
  tier.set('long', Buffer.from('b'), 60_000)
  assert.ok(tier.get('short'))
  await new Promise((r) => setTimeout(r, 80))
  assert.deepStrictEqual([tier.get('short'), tier.get('long')?.toString()], [undefined, 'b'])
})

test('deleteWhere removes only the entries its test accepts', () => {
  const tier = new MemoryTier(1 << 20)
  tier.set('a', Buffer.from('tenant-a'), 60_000)
  tier.set('b', Buffer.from('tenant-b'), 60_000)
  assert.equal(tier.deleteWhere((v) => v.toString() === 'tenant-a'), 1)
  assert.deepStrictEqual([tier.get('a'), tier.get('b')?.toString()], [undefined, 'tenant-b'])
})
