/**
 * The API key format: generated keys parse back, every single-character typo is caught by the
 * checksum offline, hashes have one form, and log descriptions never show a secret.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  apiKeyDigest, describeCredential, generateApiKey, generateKeyId, hashApiKey, KEY_ID_RE, MAX_CREDENTIAL_LENGTH, parseApiKey, parseKeyHash,
} from '../../src/shared/api-key-format.js'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

test('a generated key has the prefix, the id, 32 secret and 6 check characters, and parses back', () => {
  const { id, key } = generateApiKey('team-search')
  assert.equal(id, 'team-search')
  assert.match(key, /^sy-team-search_[0-9A-Za-z]{38}$/)
  assert.deepStrictEqual(parseApiKey(key), { kind: 'switchyard', id: 'team-search' })
})

test('generated ids are 12 lower-case characters and do not repeat', () => {
  const ids = new Set(Array.from({ length: 2000 }, generateKeyId))
  assert.equal(ids.size, 2000)
  for (const id of ids) assert.match(id, /^[a-z0-9]{12}$/)
  const { id, key } = generateApiKey()
  assert.ok(key.startsWith(`sy-${id}_`))
})

test('every single-character substitution in the id, secret or check is refused offline', () => {
  const { key } = generateApiKey('ci')
  let caught = 0
  for (let i = 3; i < key.length; i++) {
    if (key[i] === '_') continue
    const swaps = key[i] === '-' ? ['a'] : [BASE62[(BASE62.indexOf(key[i]) + 1) % 62], BASE62[(BASE62.indexOf(key[i]) + 37) % 62]]
    for (const c of swaps) {
      const typo = key.slice(0, i) + c + key.slice(i + 1)
      const p = parseApiKey(typo)
      assert.equal(p.kind, 'invalid', `typo at ${i} accepted`)
      caught++
    }
  }
  assert.ok(caught > 70)
})

test('swapped neighbours, truncation, an extra character and junk are refused', () => {
  const { key } = generateApiKey('ci')
  const i = key.length - 12
  const swapped = key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2)
  if (key[i] !== key[i + 1]) assert.deepStrictEqual(parseApiKey(swapped), { kind: 'invalid', problem: 'checksum' })
  assert.deepStrictEqual(parseApiKey(key.slice(0, -1)), { kind: 'invalid', problem: 'malformed' })
  assert.deepStrictEqual(parseApiKey(key + 'x'), { kind: 'invalid', problem: 'malformed' })
  assert.deepStrictEqual(parseApiKey('sy-'), { kind: 'invalid', problem: 'malformed' })
  assert.deepStrictEqual(parseApiKey('sy-Upper_' + 'a'.repeat(38)), { kind: 'invalid', problem: 'malformed' })
  assert.deepStrictEqual(parseApiKey('x'.repeat(MAX_CREDENTIAL_LENGTH + 1)), { kind: 'invalid', problem: 'too_long' })
})

test('keys in other formats are opaque, not invalid', () => {
  assert.deepStrictEqual(parseApiKey('sk-proj-abc123'), { kind: 'opaque' })
  assert.deepStrictEqual(parseApiKey('legacy'), { kind: 'opaque' })
})

test('ids that cannot appear in a key are refused when generating', () => {
  for (const bad of ['', 'A', 'a_b', '-a', 'a-', 'x'.repeat(41), 'a b']) {
    assert.throws(() => generateApiKey(bad), /must be 1-40 lower-case/, bad)
    assert.equal(KEY_ID_RE.test(bad), false)
  }
})

test('hashes are sha256:<hex> of the whole key and parse back to the digest', () => {
  const { key } = generateApiKey('ci')
  const hex = createHash('sha256').update(key).digest('hex')
  assert.equal(hashApiKey(key), `sha256:${hex}`)
  assert.deepStrictEqual(parseKeyHash(`sha256:${hex}`), apiKeyDigest(key))
  assert.deepStrictEqual(parseKeyHash(`sha256:${hex.toUpperCase()}`), apiKeyDigest(key))
  for (const bad of [hex, `sha256:${hex.slice(1)}`, `sha1:${hex}`, `sha256:${hex}00`, 'sha256:zz']) assert.equal(parseKeyHash(bad), undefined, bad)
})

test('a credential is described for logs by its public id, or by its length only', () => {
  const { key } = generateApiKey('ci')
  assert.equal(describeCredential(key), 'sy-ci_…')
  assert.equal(describeCredential('sk-secret-value'), '(opaque credential, 15 chars)')
  assert.equal(describeCredential(key.slice(0, -1)), '(invalid credential, 43 chars)')
})
