/** What the semantic tier embeds and what must match exactly (the scope), per `embed` mode. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { semanticQuestion } from '../../../../src/runtime/cache/semantic/prompt-text.js'
import type { KeyParts } from '../../../../src/runtime/cache/key.js'

const parts = (body: Record<string, unknown>, over: Partial<KeyParts> = {}): KeyParts => ({ namespace: 'n', tenant: 't', op: 'chat', cluster: 'c', model: 'm', body, ...over })
const chat = (system: string, user: string, extra: object = {}) => ({ temperature: 0, messages: [{ role: 'system', content: system }, { role: 'user', content: user }], ...extra })

test('last_user_message: the last user turn is embedded; the rest of the request is the scope', () => {
  const a = semanticQuestion(parts(chat('Be brief.', 'capital of France?')), 'last_user_message')!
  const b = semanticQuestion(parts(chat('Be brief.', 'which city is the French capital')), 'last_user_message')!
  assert.equal(a.text, 'capital of France?')
  assert.equal(a.scope, b.scope, 'a reworded last question keeps the scope')
  assert.notEqual(semanticQuestion(parts(chat('Be verbose.', 'capital of France?')), 'last_user_message')!.scope, a.scope, 'another system prompt')
  assert.notEqual(semanticQuestion(parts(chat('Be brief.', 'capital of France?', { temperature: 0.5 })), 'last_user_message')!.scope, a.scope, 'another parameter')
  assert.notEqual(semanticQuestion(parts(chat('Be brief.', 'capital of France?'), { tenant: 'u' }), 'last_user_message')!.scope, a.scope, 'another tenant')
  assert.notEqual(semanticQuestion(parts(chat('Be brief.', 'capital of France?'), { model: 'm2' }), 'last_user_message')!.scope, a.scope, 'another model')
})

test('prompt: the whole conversation is embedded; only the parameters are the scope', () => {
  const a = semanticQuestion(parts(chat('Be brief.', 'capital of France?')), 'prompt')!
  assert.equal(a.text, 'system: Be brief.\nuser: capital of France?')
  assert.equal(semanticQuestion(parts(chat('Be verbose.', 'x')), 'prompt')!.scope, a.scope)
})

test('nothing comparable: no user text, a non-text part, tool calls in prompt mode, or too long', () => {
  assert.equal(semanticQuestion(parts({ messages: [{ role: 'system', content: 'x' }] }), 'last_user_message'), undefined)
  assert.equal(semanticQuestion(parts({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:' } }] }] }), 'last_user_message'), undefined)
  assert.equal(semanticQuestion(parts({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: null, tool_calls: [] }, { role: 'tool', content: 'r' }, { role: 'user', content: 'q2' }] }), 'prompt'), undefined)
  assert.equal(semanticQuestion(parts(chat('s', 'x'.repeat(16_001))), 'last_user_message'), undefined)
})
