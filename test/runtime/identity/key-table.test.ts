/**
 * The compiled key table: verdicts for real generated keys, the offline typo check, expiry and
 * revocation, per-key models, the constant-time comparison, and that no hash ever leaves it.
 */
import { test, mock } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'
import { inspect } from 'node:util'
import { generateApiKey, hashApiKey } from '../../../src/shared/api-key-format.js'
import { createKeyRecord } from '../../../src/shared/key-records.js'
import { compileKeyTable, KeyTableError, type KeyEntry } from '../../../src/runtime/identity/key-table.js'

const NOW = Date.parse('2025-06-01T00:00:00Z')

function fixture() {
  const ci = generateApiKey('ci')
  const old = generateApiKey('old')
  const off = generateApiKey('off')
  const imported = 'sk-legacy-0123456789abcdef0123456789abcdef'
  const entries: KeyEntry[] = [
    { id: 'ci', tenant: 'free', hash: hashApiKey(ci.key), models: ['gpt-4o-mini', 'claude-*'] },
    { id: 'old', tenant: 'pro', hash: hashApiKey(old.key), expiresAt: '2025-05-31T23:59:59Z' },
    { id: 'off', tenant: 'pro', hash: hashApiKey(off.key), disabled: true },
    { id: 'legacy', tenant: 'enterprise', hash: hashApiKey(imported) },
  ]
  return { table: compileKeyTable(entries), keys: { ci: ci.key, old: old.key, off: off.key, imported }, entries }
}

test('a known key resolves to its id, tenant and models', () => {
  const { table, keys } = fixture()
  const v = table.verify(keys.ci, NOW)
  assert.ok(v.ok)
  assert.equal(v.key.id, 'ci')
  assert.equal(v.key.tenant, 'free')
  assert.equal(v.key.models?.allows('claude-3-5-haiku'), true)
  assert.equal(v.key.models?.allows('gpt-4o'), false)
  assert.equal(table.size, 4)
})

test('a key that is not in our format is looked up by hash like any other', () => {
  const { table, keys } = fixture()
  const v = table.verify(keys.imported, NOW)
  assert.ok(v.ok)
  assert.equal(v.key.tenant, 'enterprise')
  assert.equal(v.key.models, undefined, 'no per-key list: the tenant decides')
})

test('a mistyped key is refused by its checksum, before any lookup', () => {
  const { table, keys } = fixture()
  const i = keys.ci.length - 10
  const typo = keys.ci.slice(0, i) + (keys.ci[i] === 'a' ? 'b' : 'a') + keys.ci.slice(i + 1)
  assert.deepStrictEqual(table.verify(typo, NOW), { ok: false, reason: 'checksum' })
  assert.deepStrictEqual(table.verify(keys.ci.slice(0, -1), NOW), { ok: false, reason: 'malformed' })
  assert.deepStrictEqual(table.verify('x'.repeat(600), NOW), { ok: false, reason: 'malformed' })
})

test('a well-formed key nobody issued is unknown, named by the id it claims', () => {
  const { table } = fixture()
  assert.deepStrictEqual(table.verify(generateApiKey('ci').key, NOW), { ok: false, reason: 'unknown', keyId: 'ci' })
  assert.deepStrictEqual(table.verify('sk-whatever', NOW), { ok: false, reason: 'unknown' })
})

test('an expired key is refused from its expiry instant on', () => {
  const { table, keys } = fixture()
  const at = Date.parse('2025-05-31T23:59:59Z')
  assert.equal(table.verify(keys.old, at - 1).ok, true)
  assert.deepStrictEqual(table.verify(keys.old, at), { ok: false, reason: 'expired', keyId: 'old' })
})

test('a disabled (revoked) key is refused', () => {
  const { table, keys } = fixture()
  assert.deepStrictEqual(table.verify(keys.off, NOW), { ok: false, reason: 'disabled', keyId: 'off' })
})

test('the comparison of digests is constant-time (crypto.timingSafeEqual, once per lookup hit)', () => {
  const { table, keys } = fixture()
  const spy = mock.method(crypto, 'timingSafeEqual')
  syncBuiltinESMExports() // the key table's named import now sees the spy
  try {
    assert.equal(table.verify(keys.ci, NOW).ok, true)
    assert.equal(spy.mock.callCount(), 1)
    const [a, b] = spy.mock.calls[0].arguments as unknown as [Buffer, Buffer]
    assert.equal(a.length, 32)
    assert.equal(b.length, 32)
    table.verify(generateApiKey('ci').key, NOW) // a miss: nothing to compare
    assert.equal(spy.mock.callCount(), 1)
  } finally {
    spy.mock.restore()
    syncBuiltinESMExports()
  }
})

test('describe(), get() and verdicts never carry a hash or a secret', () => {
  const { table, keys, entries } = fixture()
  const shown = [
    JSON.stringify(table.describe(NOW)),
    inspect(table, { depth: 10, showHidden: true }),
    JSON.stringify(table.get('ci')),
    inspect(table.verify(keys.ci, NOW), { depth: 10, showHidden: true }),
  ].join('\n')
  for (const e of entries) assert.ok(!shown.includes(e.hash.slice(7)), `hash of ${e.id} leaked`)
  for (const k of Object.values(keys)) assert.ok(!shown.includes(k), 'a key leaked')
  assert.deepStrictEqual(table.describe(NOW), [
    { id: 'ci', tenant: 'free', models: ['gpt-4o-mini', 'claude-*'], expires_at: null, state: 'active' },
    { id: 'old', tenant: 'pro', models: null, expires_at: '2025-05-31T23:59:59.000Z', state: 'expired' },
    { id: 'off', tenant: 'pro', models: null, expires_at: null, state: 'disabled' },
    { id: 'legacy', tenant: 'enterprise', models: null, expires_at: null, state: 'active' },
  ])
})

test('every bad entry is reported at once, duplicates naming the first, hashes never printed', () => {
  const a = hashApiKey(generateApiKey('a').key)
  const entries: KeyEntry[] = [
    { id: 'a', tenant: 't', hash: a },
    { id: 'a', tenant: 't', hash: hashApiKey('other') },
    { id: 'b', tenant: 't', hash: a },
    { id: 'c', tenant: 't', hash: 'md5:abc' },
    { id: 'd', tenant: 't', hash: hashApiKey('d'), expiresAt: 'next tuesday' },
  ]
  const err = (() => { try { compileKeyTable(entries) } catch (e) { return e } })()
  assert.ok(err instanceof KeyTableError)
  assert.deepStrictEqual(err.problems, [
    "keys[1] (id 'a'): duplicate key id (first at keys[0])",
    "keys[2] (id 'b'): same secret as key 'a'",
    "keys[3] (id 'c'): hash must be sha256:<64 hex digits>",
    `keys[4] (id 'd'): expires_at "next tuesday" is not an RFC 3339 date-time`,
  ])
  assert.ok(!err.message.includes(a.slice(7)))
})

test('a record made by the keys CLI functions verifies with its printed key', () => {
  const { key, record } = createKeyRecord({ tenant: 'free', models: ['gpt-4o*'], expires: '90d' }, NOW)
  const table = compileKeyTable([{ id: record.id, tenant: record.tenant, hash: record.hash, models: record.models, expiresAt: record.expires_at }])
  const v = table.verify(key, NOW)
  assert.ok(v.ok)
  assert.equal(v.key.tenant, 'free')
  assert.equal(v.key.expiresAtMs, NOW + 90 * 86_400_000)
})
