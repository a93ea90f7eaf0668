/** Memory lookups decode a record once: the next hit on the same record reuses it; a new record, an expired or a broken one does not. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryTier } from '../../../src/runtime/cache/memory-tier.js'
import { DecodedHits } from '../../../src/runtime/cache/decoded-hits.js'
import { encodeEntry } from '../../../src/runtime/cache/entry.js'

const completion = (text: string) => JSON.stringify({
  id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o',
  choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
})
const entry = (text: string, ttlMs = 60_000) => {
  const now = Date.now()
  const body = Buffer.from(completion(text))
  return encodeEntry({ v: 2, storedAt: now, expiresAt: now + ttlMs, route: 'r', tenant: 't', op: 'chat', streamed: false, body: [body], size: body.length })!
}

test('a second hit on the same record is the entry decoded the first time; a new record under the key is decoded anew', () => {
  const tier = new MemoryTier(1 << 20)
  const hits = new DecodedHits(tier)
  tier.set('k', entry('first'))
  const a = hits.lookup('k')
  assert.ok(a !== undefined && a.answer.kind === 'turn')
  assert.equal(hits.lookup('k'), a, 'the same object: not copied or parsed again')
  tier.set('k', entry('second'))
  const b = hits.lookup('k')
  assert.ok(b !== undefined && b !== a)
  assert.match(JSON.stringify(b.answer), /second/)
})

test('an expired entry is not returned, even from the decoded ones, and leaves the tier', async () => {
  const tier = new MemoryTier(1 << 20)
  const hits = new DecodedHits(tier)
  tier.set('k', entry('soon gone', 40))
  assert.ok(hits.lookup('k'))
  await new Promise((r) => setTimeout(r, 80))
  assert.equal(hits.lookup('k'), undefined)
  assert.equal(tier.stats().entries, 0)
})

test('an entry whose answer is not a complete success is never returned and is deleted', () => {
  const tier = new MemoryTier(1 << 20)
  const hits = new DecodedHits(tier)
  const now = Date.now()
  const broken = Buffer.from('{"id":"x","choices":[')
  tier.set('k', encodeEntry({ v: 2, storedAt: now, expiresAt: now + 60_000, route: 'r', tenant: 't', op: 'chat', streamed: false, body: [broken], size: broken.length })!)
  assert.equal(hits.lookup('k'), undefined)
  assert.equal(tier.stats().entries, 0)
})

test('an entry deleted from the tier (invalidation) is not served from the decoded ones', () => {
  const tier = new MemoryTier(1 << 20)
  const hits = new DecodedHits(tier)
  tier.set('k', entry('kept'))
  assert.ok(hits.lookup('k'))
  tier.deleteWhere(() => true)
  assert.equal(hits.lookup('k'), undefined)
})
