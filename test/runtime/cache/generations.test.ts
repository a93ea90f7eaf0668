/** Generation fields as data: what DELETE /cache bumps, and how a watcher reads a bump back. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { changedFields, fieldOf, generationFields, generationString, purgeOf } from '../../../src/runtime/cache/generations.js'

const cases: [string, { route?: string; tenant?: string }, string][] = [
  ['everything', {}, '*'],
  ['a route', { route: 'chat' }, 'r:chat'],
  ['a tenant', { tenant: 'listener:api' }, 't:listener:api'],
  ['a route of a tenant', { route: 'chat', tenant: 'acme:eu' }, 'rt:chat\nacme:eu'],
]
for (const [what, by, field] of cases) {
  test(`invalidating ${what} bumps ${JSON.stringify(field)} and reads back as the same purge`, () => {
    assert.equal(fieldOf(by), field)
    assert.deepStrictEqual(purgeOf(field), by)
  })
}

test('an owner\'s generations cover each of the four fields an invalidation can bump', () => {
  assert.deepStrictEqual(generationFields('chat', 'acme'), ['*', 'r:chat', 't:acme', 'rt:chat\nacme'])
  for (const [, by] of cases) assert.ok(generationFields(by.route ?? 'chat', by.tenant ?? 'acme').includes(fieldOf(by)))
  assert.equal(generationString([null, '3', null, '1']), '0.3.0.1')
})

test('changed fields: new, bumped and lost ones, never the epoch', () => {
  assert.deepStrictEqual(changedFields({ '#': '1', 'r:a': '1', 't:x': '2' }, { '#': '3', 'r:a': '2', '*': '1' }).sort(), ['*', 'r:a', 't:x'])
  assert.equal(purgeOf('#'), undefined)
})
