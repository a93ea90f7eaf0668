/**
 * The keys CLI's pure functions on real YAML: the operator's comments and layout survive an add,
 * a revoke or a removal; records hold hashes only; expiries parse in the documented forms.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parse, parseDocument } from 'yaml'
import { hashApiKey } from '../../src/shared/api-key-format.js'
import {
  addKeyRecord, createKeyRecord, keyRecordYaml, listKeyRecords, parseExpiry, removeKeyRecord, revokeKeyRecord, type KeyRecord,
} from '../../src/shared/key-records.js'

const NOW = Date.parse('2025-06-01T00:00:00Z')
const HASH = `sha256:${'ab'.repeat(32)}`

/**
 * yaml's Document keeps comments, order and blank lines, and re-renders spacing in its own style
 * (one space before an inline comment, padded flow lists); the fixture is written in that style so
 * the assertions can demand the rest of the file back byte for byte.
 */
const CONFIG = `# yaml-language-server: $schema=../schemas/switchyard.schema.json
# Tenants on three tiers.
tenants:
  - name: free # 10 req/s
    models: [ "gpt-4o-mini" ]

keys:
  # CI pipeline, rotated monthly
  - id: ci
    tenant: free
    hash: ${HASH}
`

test('createKeyRecord returns the key once and a record holding only its hash', () => {
  const { key, record } = createKeyRecord({ tenant: 'free', id: 'laptop', models: ['gpt-4o*'], expires: '30d' }, NOW)
  assert.match(key, /^sy-laptop_/)
  assert.deepStrictEqual(record, { id: 'laptop', tenant: 'free', hash: hashApiKey(key), models: ['gpt-4o*'], expires_at: '2025-07-01T00:00:00.000Z' })
  assert.ok(!JSON.stringify(record).includes(key.slice(10)))
  const plain = createKeyRecord({ tenant: 'pro' }, NOW).record
  assert.deepStrictEqual(Object.keys(plain), ['id', 'tenant', 'hash'])
  assert.throws(() => createKeyRecord({ tenant: ' ' }, NOW), /needs a tenant/)
})

test('adding a key appends to keys: and gives back the rest of the file unchanged', () => {
  const doc = parseDocument(CONFIG)
  addKeyRecord(doc, { id: 'laptop', tenant: 'free', hash: HASH, models: ['gpt-4o-mini', 'o1*'], expires_at: '2025-07-01T00:00:00.000Z' })
  assert.equal(doc.toString(), `${CONFIG}  - id: laptop
    tenant: free
    hash: ${HASH}
    models: [ gpt-4o-mini, o1* ]
    expires_at: 2025-07-01T00:00:00.000Z
`)
  assert.equal(parse(doc.toString()).keys[1].expires_at, '2025-07-01T00:00:00.000Z', 'the expiry stays a string')
})

test('a document without keys: gets the list; an empty keys: is filled', () => {
  const record: KeyRecord = { id: 'k1', tenant: 't', hash: HASH }
  const doc = parseDocument('# listeners only\nlisteners: []\n')
  addKeyRecord(doc, record)
  assert.equal(doc.toString(), `# listeners only\nlisteners: []\nkeys:\n  - id: k1\n    tenant: t\n    hash: ${HASH}\n`)
  const empty = parseDocument('keys:\n')
  addKeyRecord(empty, record)
  assert.deepStrictEqual(parse(empty.toString()), { keys: [record] })
  const blank = parseDocument('')
  addKeyRecord(blank, record)
  assert.deepStrictEqual(parse(blank.toString()), { keys: [record] })
})

test('an id already in the list is refused; a non-list keys: is an error', () => {
  assert.throws(() => addKeyRecord(parseDocument(CONFIG), { id: 'ci', tenant: 'free', hash: HASH }), /key id 'ci' is already in keys:/)
  assert.throws(() => addKeyRecord(parseDocument('keys: {a: 1}\n'), { id: 'x', tenant: 't', hash: HASH }), /keys: is not a list/)
})

test('revoking marks the key disabled in place, comments intact; twice is reported', () => {
  const doc = parseDocument(CONFIG)
  assert.equal(revokeKeyRecord(doc, 'ci'), 'revoked')
  assert.equal(doc.toString(), `${CONFIG}    disabled: true\n`)
  assert.equal(revokeKeyRecord(doc, 'ci'), 'already')
  assert.equal(revokeKeyRecord(doc, 'nope'), 'unknown')
  assert.equal(revokeKeyRecord(parseDocument('listeners: []\n'), 'ci'), 'unknown')
})

test('removing deletes the entry only', () => {
  const doc = parseDocument(CONFIG)
  assert.equal(removeKeyRecord(doc, 'ci'), true)
  assert.deepStrictEqual(parse(doc.toString()).keys, [])
  assert.match(doc.toString(), /# Tenants on three tiers\./)
  assert.equal(removeKeyRecord(doc, 'ci'), false)
})

test('listing shows ids, tenants, models, expiry and state, never the hash', () => {
  const doc = parseDocument(CONFIG)
  addKeyRecord(doc, { id: 'k2', tenant: 'pro', hash: HASH, models: ['x'], expires_at: '2026-01-01T00:00:00.000Z' })
  revokeKeyRecord(doc, 'ci')
  const list = listKeyRecords(doc)
  assert.deepStrictEqual(list, [
    { id: 'ci', tenant: 'free', models: null, expires_at: null, disabled: true },
    { id: 'k2', tenant: 'pro', models: ['x'], expires_at: '2026-01-01T00:00:00.000Z', disabled: false },
  ])
  assert.ok(!JSON.stringify(list).includes('abab'))
  assert.deepStrictEqual(listKeyRecords(parseDocument('listeners: []\n')), [])
})

test('one record as an etcd value parses back to itself', () => {
  const record: KeyRecord = { id: 'k1', tenant: 't', hash: HASH, models: ['a*'], expires_at: '2026-01-01T00:00:00.000Z' }
  assert.deepStrictEqual(parse(keyRecordYaml(record)), record)
})

test('expiries: lifetimes, dates and date-times; past and unreadable ones refused', () => {
  assert.equal(parseExpiry('90d', NOW), '2025-08-30T00:00:00.000Z')
  assert.equal(parseExpiry('12h', NOW), '2025-06-01T12:00:00.000Z')
  assert.equal(parseExpiry('30m', NOW), '2025-06-01T00:30:00.000Z')
  assert.equal(parseExpiry('2026-06-30', NOW), '2026-06-30T00:00:00.000Z')
  assert.equal(parseExpiry('2026-06-30T12:00:00+02:00', NOW), '2026-06-30T10:00:00.000Z')
  assert.throws(() => parseExpiry('2024-01-01', NOW), /is in the past/)
  for (const bad of ['0d', '1w', 'tomorrow', '2026-13-01', '2026-06-30T12:00']) assert.throws(() => parseExpiry(bad, NOW), /expected a date/, bad)
})
