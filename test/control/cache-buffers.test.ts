/** The shared memory tiers the main thread makes: one per size a config's cache filters ask for, kept across snapshots. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CacheBuffers } from '../../src/control/cache-buffers.js'
import { MemoryTier } from '../../src/runtime/cache/memory-tier.js'
import type { SnapshotIR } from '../../src/compiler/ir.js'

const ir = (filters: { name: string; type: string; config: Record<string, unknown> }[], overrides: Record<string, unknown> = {}) =>
  ({ filters, routeTables: [{ name: 'main', rules: [{ name: 'r', filterOverrides: overrides }] }] }) as unknown as SnapshotIR

test('one buffer per memory size the cache filters and their rule overrides ask for; none without a cache filter', () => {
  const buffers = new CacheBuffers()
  assert.deepStrictEqual(Object.keys(buffers.for(ir([{ name: 'auth', type: 'api_key', config: {} }]))), [])
  const got = buffers.for(ir(
    [
      { name: 'a', type: 'cache', config: {} },
      { name: 'b', type: 'cache', config: { memory: { max_bytes: '1mb' } } },
      { name: 'c', type: 'cache', config: { memory: { max_bytes: '1mb' } } },
    ],
    { b: { config: { memory: { max_bytes: '2mb' } } }, a: { disabled: true } },
  ))
  assert.deepStrictEqual(Object.keys(got).map(Number).sort((x, y) => x - y), [1 << 20, 2 << 20, 64 << 20])
  // Each is a tier of its size that a worker can open.
  const never = () => Number.MAX_SAFE_INTEGER
  new MemoryTier(1 << 20, { buffer: got[1 << 20], expiresAt: never }).set('k', Buffer.from('v'))
  assert.equal(new MemoryTier(1 << 20, { buffer: got[1 << 20], expiresAt: never }).get('k')?.toString(), 'v')
})

test('a later snapshot asking for the same size gets the same buffer (its entries survive the reload)', () => {
  const buffers = new CacheBuffers()
  const one = buffers.for(ir([{ name: 'a', type: 'cache', config: { memory: { max_bytes: '1mb' } } }]))
  const two = buffers.for(ir([{ name: 'renamed', type: 'cache', config: { memory: { max_bytes: '1mb' } } }]))
  assert.equal(one[1 << 20], two[1 << 20])
})
