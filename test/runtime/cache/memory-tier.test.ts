/**
 * The memory tier: bounded by bytes, not entries; expiry read from each value (an entry header's, or
 * the test's own); entries in one SharedArrayBuffer that worker threads share.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Worker } from 'node:worker_threads'
import { MemoryTier } from '../../../src/runtime/cache/memory-tier.js'

/** Test values say when they expire in their first 8 bytes, as an entry's header does at its own offset. */
const expiring = (body: string, ttlMs: number) => {
  const b = Buffer.alloc(8 + Buffer.byteLength(body))
  b.writeDoubleLE(Date.now() + ttlMs, 0)
  b.write(body, 8)
  return b
}
const byValue = (v: Buffer) => v.readDoubleLE(0)
const never = () => Number.MAX_SAFE_INTEGER
const bodyOf = (v: Buffer | undefined) => v?.subarray(8).toString()

test('10k distinct entries never hold more than max_bytes, and the newest stay', () => {
  const tier = new MemoryTier(1024 * 1024, { expiresAt: never })
  const value = Buffer.alloc(500, 'x')
  for (let i = 0; i < 10_000; i++) {
    tier.set(`key-${i}`, value)
    assert.ok(tier.stats().bytes <= 1024 * 1024)
  }
  const s = tier.stats()
  // 24 bytes of record head + the key (8-aligned) + 504 per entry: about 1 MiB / 544 bytes of them.
  assert.ok(s.entries > 1900 && s.entries <= 1986, `entries: ${s.entries}`)
  assert.equal(s.evictions, 10_000 - s.entries)
  assert.ok(tier.get('key-9999') !== undefined)
  assert.equal(tier.get('key-0'), undefined)
})

test('an entry larger than the whole tier is not kept; nor one under a non-ASCII key', () => {
  const tier = new MemoryTier(1000, { expiresAt: never })
  tier.set('big', Buffer.alloc(2000))
  tier.set('clé', Buffer.from('v'))
  assert.deepStrictEqual([tier.get('big'), tier.get('clé'), tier.stats().entries], [undefined, undefined, 0])
})

test('an entry is not returned after its TTL', async () => {
  const tier = new MemoryTier(1 << 20, { expiresAt: byValue })
  tier.set('short', expiring('a', 40))
  tier.set('long', expiring('b', 60_000))
  assert.equal(bodyOf(tier.get('short')), 'a')
  await new Promise((r) => setTimeout(r, 80))
  assert.deepStrictEqual([tier.get('short'), bodyOf(tier.get('long'))], [undefined, 'b'])
  assert.equal(tier.stats().entries, 1, 'the expired entry met by the lookup is deleted')
})

test('deleteWhere removes only the entries its test accepts', () => {
  const tier = new MemoryTier(1 << 20, { expiresAt: never })
  for (let i = 0; i < 200; i++) tier.set(`k${i}`, Buffer.from(i % 3 === 0 ? 'tenant-a' : 'tenant-b'))
  assert.equal(tier.deleteWhere((v) => v.toString() === 'tenant-a'), 67)
  assert.equal(tier.stats().entries, 133)
  for (let i = 0; i < 200; i++) assert.equal(tier.get(`k${i}`)?.toString(), i % 3 === 0 ? undefined : 'tenant-b', `k${i}`)
})

test('by default the expiry is the entry header\'s', async () => {
  const { encodeEntry } = await import('../../../src/runtime/cache/entry-header.js')
  const now = Date.now()
  const entry = (ttlMs: number) => encodeEntry({ v: 2, storedAt: now, expiresAt: now + ttlMs, route: 'r', tenant: 't', op: 'chat', streamed: false, body: [Buffer.from('{}')], size: 2 })!
  const tier = new MemoryTier(1 << 20)
  tier.set('gone', entry(-1))
  tier.set('kept', entry(60_000))
  assert.deepStrictEqual([tier.get('gone'), tier.get('kept')?.equals(entry(60_000))], [undefined, true])
})

test('a get returns a copy: changing it changes nothing stored', () => {
  const tier = new MemoryTier(1 << 16, { expiresAt: never })
  tier.set('k', Buffer.from('abc'))
  tier.get('k')!.fill(0)
  assert.equal(tier.get('k')!.toString(), 'abc')
})

test('random sets, gets and deletes agree with a map: a value found is always the latest one set under its key', () => {
  // A small tier (64 index slots, 4 KiB) so probe runs wrap, backward shifts and ring wraps all happen.
  const tier = new MemoryTier(4096, { expiresAt: never })
  const model = new Map<string, string>()
  let seed = 7
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n)
  for (let i = 0; i < 50_000; i++) {
    const key = `k${rand(90)}`
    const op = rand(10)
    if (op < 5) {
      const value = `${key}:${i}:${'x'.repeat(rand(300))}`
      tier.set(key, Buffer.from(value))
      model.set(key, value)
    } else if (op < 8) {
      const got = tier.get(key)?.toString()
      if (got !== undefined) assert.equal(got, model.get(key), `step ${i}`)
    } else {
      tier.delete(key)
      model.delete(key)
      assert.equal(tier.get(key), undefined)
    }
    const s = tier.stats()
    assert.ok(s.bytes <= 4096 && s.entries >= 0, `step ${i}: ${JSON.stringify(s)}`)
  }
  let found = 0
  for (const [k, v] of model) {
    const got = tier.get(k)?.toString()
    if (got !== undefined) (assert.equal(got, v), found++)
  }
  assert.equal(found, tier.stats().entries)
})

test('an entry in use is moved ahead of eviction; one not asked for leaves after about a lap', () => {
  const tier = new MemoryTier(64 * 1024, { expiresAt: never })
  const value = Buffer.alloc(200, 'v')
  tier.set('hot', value)
  tier.set('cold', value)
  // Five laps of the ring, asking for 'hot' now and then.
  for (let i = 0; i < 1500; i++) {
    tier.set(`filler-${i}`, value)
    if (i % 20 === 0) assert.ok(tier.get('hot'), `hot gone after ${i} fillers`)
  }
  assert.ok(tier.get('hot'))
  assert.equal(tier.get('cold'), undefined)
})

test('two worker threads share one tier: what one stores the other finds, and hammering it from both never returns a torn or foreign value', async () => {
  const buffer = MemoryTier.createBuffer(256 * 1024)
  const tier = new MemoryTier(256 * 1024, { buffer, expiresAt: never })
  tier.set('from-main', Buffer.from('hello'))
  const url = new URL('../../../src/runtime/cache/memory-tier.js', import.meta.url).href
  // A reader first: it finds what the main thread stored. Then two workers set and get 40k times
  // each over 300 shared keys; a value is its key, the writer and a length-prefixed filler, so a
  // torn read (half one write, half another) fails the check.
  const source = `
    const { workerData, parentPort } = require('node:worker_threads')
    import(workerData.url).then(({ MemoryTier }) => {
      const tier = new MemoryTier(256 * 1024, { buffer: workerData.buffer, expiresAt: () => Number.MAX_SAFE_INTEGER })
      if (workerData.id === 0) return parentPort.postMessage({ seen: tier.get('from-main')?.toString() })
      let bad = 0, hits = 0, g = 0
      for (let i = 0; i < 40000; i++) {
        // Sets and gets walk the keys apart (gets with their own counter), so each also reads its own writes.
        const key = 'k' + (i % 3 === 0 ? (i * 7919 + workerData.id * 13) % 300 : (g++ * 7919) % 300)
        if (i % 3 === 0) {
          const filler = 'f'.repeat((i * 31) % 700)
          tier.set(key, Buffer.from(key + '|' + workerData.id + '|' + filler.length + '|' + filler))
        } else {
          const v = tier.get(key)?.toString()
          if (v === undefined) continue
          hits++
          const [k, , n, f] = v.split('|')
          if (k !== key || Number(n) !== f.length) bad++
        }
      }
      parentPort.postMessage({ bad, hits })
    })`
  const run = (id: number) =>
    new Promise<{ seen?: string; bad: number; hits: number }>((resolve, reject) => {
      const w = new Worker(source, { eval: true, workerData: { url, buffer, id } })
      w.once('message', resolve)
      w.once('error', reject)
    })
  assert.equal((await run(0)).seen, 'hello')
  const results = await Promise.all([run(1), run(2)])
  for (const r of results) {
    assert.equal(r.bad, 0)
    assert.ok(r.hits > 1000, `hits: ${r.hits}`)
  }
  const s = tier.stats()
  assert.ok(s.entries > 0 && s.entries <= 301 && s.bytes <= 256 * 1024, JSON.stringify(s))
})

test('a claim is held until its time or until deleted; then the next claimant gets it', async () => {
  const tier = new MemoryTier(1 << 16, { expiresAt: never })
  assert.equal(tier.claim('~k', Date.now() + 60_000), true)
  assert.equal(tier.claim('~k', Date.now() + 60_000), false, 'held')
  tier.delete('~k')
  assert.equal(tier.claim('~k', Date.now() + 30), true, 'released, taken again')
  assert.equal(tier.claim('~k', Date.now() + 60_000), false)
  await new Promise((r) => setTimeout(r, 60))
  assert.equal(tier.claim('~k', Date.now() + 60_000), true, 'its time passed: taken')
})

/** setWith's writer for the tests: the value's bytes, written where the tier says. */
const writeBytes = (into: Buffer, at: number, v: Buffer) => void v.copy(into, at)

test('values written in place across many laps of a small ring read back whole, as the latest under their key', () => {
  // 4 KiB ring, values of 1–700 bytes: records often do not fit before the end and wrap to offset 0.
  const tier = new MemoryTier(4096, { expiresAt: never })
  const model = new Map<string, string>()
  let seed = 11
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n)
  for (let i = 0; i < 20_000; i++) {
    const key = `k${rand(40)}`
    const value = `${key}:${i}:${'y'.repeat(rand(700))}`
    const b = Buffer.from(value)
    assert.equal(tier.setWith(key, b.length, writeBytes, b), true)
    model.set(key, value)
    assert.equal(tier.get(key)?.toString(), value, `step ${i}`)
    const other = `k${rand(40)}`
    const got = tier.get(other)?.toString()
    if (got !== undefined) assert.equal(got, model.get(other), `step ${i}: ${other}`)
  }
  const s = tier.stats()
  assert.ok(s.evictions > 1000 && s.bytes <= 4096, JSON.stringify(s))
})

test('setWith writes what set copies: the same bytes come back', () => {
  const a = new MemoryTier(1 << 16, { expiresAt: never })
  const value = Buffer.from('in place or copied, the same bytes')
  a.set('copied', value)
  a.setWith('placed', value.length, writeBytes, value)
  assert.deepStrictEqual([a.get('copied')?.toString(), a.get('placed')?.toString()], [value.toString(), value.toString()])
})

test('a value larger than the tier, a negative size or a non-ASCII key is refused by setWith without calling the writer', () => {
  const tier = new MemoryTier(1024, { expiresAt: never })
  tier.set('kept', Buffer.from('v'))
  let calls = 0
  const write = () => void calls++
  assert.deepStrictEqual([tier.setWith('big', 2000, write, 0), tier.setWith('neg', -1, write, 0), tier.setWith('nan', NaN, write, 0), tier.setWith('clé', 1, write, 0)], [false, false, false, false])
  assert.equal(calls, 0)
  assert.deepStrictEqual([tier.get('kept')?.toString(), tier.stats().entries], ['v', 1])
})

test('a writer that throws leaves nothing under its key, the lock free and the other entries as they were', () => {
  const tier = new MemoryTier(2048, { expiresAt: never })
  for (let i = 0; i < 5; i++) tier.set(`k${i}`, Buffer.from(`value ${i}`))
  const before = tier.stats()
  assert.throws(() => tier.setWith('bad', 100, () => { throw new Error('encoder failed') }, 0), /encoder failed/)
  assert.equal(tier.get('bad'), undefined)
  assert.deepStrictEqual([tier.stats().entries, tier.stats().bytes], [before.entries, before.bytes])
  for (let i = 0; i < 5; i++) assert.equal(tier.get(`k${i}`)?.toString(), `value ${i}`)
  // The dead record leaves with the tail like any other: the ring keeps working over many laps.
  for (let i = 0; i < 500; i++) tier.set(`f${i}`, Buffer.alloc(100, i))
  assert.equal(tier.get('f499')?.[0], 499 & 0xff)
  assert.ok(tier.stats().bytes <= 2048)
})
