import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileDescriptor, encodeKeyPart, hashTagOf, type DescriptorPart } from '../../../src/runtime/limits/descriptor.js'
import type { RequestFacts } from '../../../src/runtime/limits/types.js'

const facts: RequestFacts = { tenant: 'acme', keyId: 'k_123', model: 'gpt-4o', route: 'chat', headers: { 'x-team': 'search', 'x-evil': 'a}:{b' } }

test('descriptors build keys as data: parts, tag and layout', () => {
  const cases: [DescriptorPart[], string | undefined][] = [
    [[], 'sy:{global}:global'],
    [['tenant'], 'sy:{acme}:global'],
    [['tenant', 'model'], 'sy:{acme}:global:gpt-4o'],
    [['model', 'tenant'], 'sy:{acme}:global:gpt-4o'],
    [['key'], 'sy:{acme}:global:k_123'],
    [['tenant', 'key', 'route'], 'sy:{acme}:global:k_123:chat'],
    [['model'], 'sy:{gpt-4o}:global'],
    [['route', 'model'], 'sy:{chat}:global:gpt-4o'],
    [[{ header: 'X-Team' }], 'sy:{search}:global'],
    [['tenant', { header: 'x-team' }], 'sy:{acme}:global:search'],
    [[{ header: 'x-missing' }], undefined],
    [['tenant', { header: 'x-missing' }], undefined],
  ]
  const got = cases.map(([parts]) => compileDescriptor('global', parts, 'sy:')(facts))
  assert.deepStrictEqual(got, cases.map(([, want]) => want))
})

test('a request without the tenant is not limited by a tenant or key descriptor', () => {
  assert.equal(compileDescriptor('t', ['key'], 'sy:')({ ...facts, tenant: undefined }), undefined)
})

test('request-supplied values cannot move the hash tag or forge another key', () => {
  const key = compileDescriptor('h', [{ header: 'x-evil' }], 'sy:')(facts)!
  assert.equal(key, 'sy:{a%7D%3A%7Bb}:h')
  assert.equal(hashTagOf(key), 'a%7D%3A%7Bb')
  const values = ['a:b', 'a%3Ab', '', ' ', 'x'.repeat(65), 'x'.repeat(500), 'x'.repeat(501), 'ü', '{}', '#abc']
  const encoded = values.map(encodeKeyPart)
  assert.equal(new Set(encoded).size, values.length, encoded.join(' '))
  for (const e of encoded) assert.doesNotMatch(e, /[{}:]/)
  assert.ok(encoded.every((e) => e.length <= 96))
})

test('every key of one tenant shares a hash tag, whatever else the descriptor names', () => {
  const tags = new Set([['tenant'], ['key'], ['tenant', 'model'], ['key', { header: 'x-team' }]].map((p) => hashTagOf(compileDescriptor('n', p as DescriptorPart[], 'p:')(facts)!)))
  assert.deepStrictEqual([...tags], ['acme'])
})

test('descriptors that cannot work are refused when compiled', () => {
  assert.throws(() => compileDescriptor('n', [], 'a{b'), /may not contain/)
  assert.throws(() => compileDescriptor('bad name', [], 'sy:'), /limit name/)
  assert.throws(() => compileDescriptor('n', ['tenant', 'tenant'], 'sy:'), /names tenant twice/)
  assert.throws(() => compileDescriptor('n', [{ header: 'A' }, { header: 'a' }], 'sy:'), /header:a twice/)
})
