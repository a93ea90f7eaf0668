/**
 * Allowed models as exact names and globs, and how a key's list narrows its tenant's.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ALL_MODELS, allowsModel, compileModelAccess } from '../../../src/runtime/identity/model-access.js'

const CASES: [patterns: string[], model: string, allowed: boolean][] = [
  [['gpt-4o-mini'], 'gpt-4o-mini', true],
  [['gpt-4o-mini'], 'gpt-4o', false],
  [['gpt-4o-mini'], 'GPT-4o-mini', false],
  [['gpt-4o*'], 'gpt-4o', true],
  [['gpt-4o*'], 'gpt-4o-2024-08-06', true],
  [['gpt-4o*'], 'gpt-4', false],
  [['claude-?-haiku'], 'claude-3-haiku', true],
  [['claude-?-haiku'], 'claude-35-haiku', false],
  [['*'], 'anything/at:all', true],
  [[], 'gpt-4o', false],
  [['a.b'], 'axb', false],
  [['a.b'], 'a.b', true],
  [['*/llama-3*'], 'meta/llama-3.1-8b', true],
  [['gpt-4o-mini', 'claude-*'], 'claude-opus-4', true],
]

for (const [patterns, model, allowed] of CASES) {
  test(`${JSON.stringify(patterns)} ${allowed ? 'allows' : 'refuses'} ${model}`, () => {
    assert.equal(compileModelAccess(patterns).allows(model), allowed)
  })
}

test("'*' is flagged as all models and keeps its patterns for describe()", () => {
  assert.equal(ALL_MODELS.all, true)
  const a = compileModelAccess(['gpt-4o', 'o1*'])
  assert.equal(a.all, false)
  assert.deepStrictEqual(a.patterns, ['gpt-4o', 'o1*'])
})

test('a key narrows its tenant: both lists must allow the model', () => {
  const tenant = compileModelAccess(['gpt-*', 'claude-*'])
  const key = compileModelAccess(['gpt-4o-mini'])
  assert.equal(allowsModel('gpt-4o-mini', tenant, key), true)
  assert.equal(allowsModel('gpt-4o', tenant, key), false)
  assert.equal(allowsModel('gpt-4o', tenant, undefined), true)
  assert.equal(allowsModel('llama', undefined, undefined), true)
  assert.equal(allowsModel('gpt-4o-mini', compileModelAccess(['claude-*']), key), false, 'a key cannot widen its tenant')
})

test('a pathological glob against a long caller-chosen model name stays linear', () => {
  const access = compileModelAccess(['*a*a*a*a*a*a*b'])
  const started = performance.now()
  assert.equal(access.allows('a'.repeat(800)), false)
  assert.ok(performance.now() - started < 200)
})
