/** The cache key: which requests share an entry, as a table of pairs that must and must not collide. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalJson, canonicalRequest, requestKey, type CacheOperation, type KeyParts } from '../../../src/runtime/cache/key.js'
import { DEFAULT_IGNORED } from '../../../src/runtime/cache/policy.js'

const IGNORED = new Set(DEFAULT_IGNORED)
const base = { namespace: 'default#x', tenant: 'acme', cluster: 'openai', model: 'gpt-4o' }

function keyOf(op: CacheOperation, body: object, over: Partial<KeyParts> = {}): string {
  const canonical = canonicalRequest(op, body, IGNORED)
  assert.ok(canonical, `canonicalRequest(${op}) refused ${JSON.stringify(body)}`)
  return requestKey({ ...base, op, body: canonical, ...over })
}

const chat = (extra: object = {}) => ({ model: 'gpt-4o', temperature: 0, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], ...extra })

test('canonical JSON sorts object keys at every level and keeps array order', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 0 }], c: null }, u: undefined }), '{"a":{"c":null,"d":[2,{"y":0,"z":1}]},"b":1}')
})

test('requests that the upstream would see as the same question share a key', () => {
  const same: [string, object, object][] = [
    ['key order', chat(), { messages: [{ content: 'hi', role: 'user' }], max_tokens: 100, temperature: 0, model: 'gpt-4o' }],
    ['stream flag and stream_options', chat(), chat({ stream: true, stream_options: { include_usage: true } })],
    ['the caller-side user field', chat(), chat({ user: 'u-1' })],
    ['max_completion_tokens for max_tokens', chat(), { ...chat(), max_tokens: undefined, max_completion_tokens: 100 }],
    ['a text-only parts array for a string', chat(), chat({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] })],
    ['the model field (the served model is keyed apart)', chat(), chat({ model: 'alias' })],
  ]
  for (const [why, a, b] of same) assert.equal(keyOf('chat', a), keyOf('chat', b), why)
})

test('requests that may get different answers do not share a key', () => {
  const k = keyOf('chat', chat())
  const different: [string, string][] = [
    ['temperature', keyOf('chat', chat({ temperature: 0.5 }))],
    ['seed', keyOf('chat', chat({ seed: 1 }))],
    ['max_tokens', keyOf('chat', chat({ max_tokens: 101 }))],
    ['a parameter the gateway does not know', keyOf('chat', chat({ brand_new_knob: true }))],
    ['tools', keyOf('chat', chat({ tools: [{ type: 'function', function: { name: 'f' } }] }))],
    ['the message text', keyOf('chat', chat({ messages: [{ role: 'user', content: 'hi!' }] }))],
    ['the tenant', keyOf('chat', chat(), { tenant: 'other' })],
    ['the namespace', keyOf('chat', chat(), { namespace: 'default#y' })],
    ['the served model', keyOf('chat', chat(), { model: 'gpt-4o-mini' })],
    ['the cluster', keyOf('chat', chat(), { cluster: 'azure' })],
    ['the operation family', keyOf('embeddings', chat())],
  ]
  for (const [why, other] of different) assert.notEqual(other, k, why)
})

test('an Anthropic Messages request keys like the OpenAI chat request it translates to', () => {
  const anthropic = { model: 'claude', max_tokens: 100, temperature: 0, system: 'be brief', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }
  const openai = { model: 'gpt-4o', max_tokens: 100, temperature: 0, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }] }
  assert.equal(keyOf('messages', anthropic), keyOf('chat', openai))
  // A parameter the translation cannot carry stays in the key: never a hit across it.
  assert.notEqual(keyOf('messages', { ...anthropic, top_k: 5 }), keyOf('chat', openai))
  assert.notEqual(keyOf('messages', { ...anthropic, top_k: 5 }), keyOf('messages', { ...anthropic, top_k: 6 }))
})

test('a body the key cannot read is not cached', () => {
  assert.equal(canonicalRequest('chat', [1, 2], IGNORED), undefined)
  assert.equal(canonicalRequest('chat', 'text', IGNORED), undefined)
  assert.equal(canonicalRequest('messages', { model: 'claude', messages: 'not a list' }, IGNORED), undefined)
})
