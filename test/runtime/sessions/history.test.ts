import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendTurn, parseRecord, prepare, tokensOf, type SessionRecord, type Turn } from '../../../src/runtime/sessions/history.js'

const turn = (...items: unknown[]): Turn => ({ items, tokens: tokensOf(items) })
const chatRecord = (turns: Turn[], system?: unknown): SessionRecord => ({ v: 1, kind: 'chat', ...(system !== undefined && { system }), turns, updatedAt: 0 })
const user = (content: string) => ({ role: 'user', content })
const assistant = (content: string) => ({ role: 'assistant', content })
const roomy = { maxTurns: 50, contextTokens: 100_000, reserveOutputTokens: 100 }

test('chat: the stored turns go between the system prompt and the new messages', () => {
  const r = chatRecord([turn(user('a'), assistant('A')), turn(user('b'), assistant('B'))], [{ role: 'system', content: 'S' }])
  const p = prepare('chat', { model: 'm', messages: [user('c')] }, r, roomy)!
  assert.deepEqual(p.json.messages, [{ role: 'system', content: 'S' }, user('a'), assistant('A'), user('b'), assistant('B'), user('c')])
  assert.equal(p.dropped, 0)
})

test("chat: the request's own system prompt replaces the stored one", () => {
  const r = chatRecord([turn(user('a'), assistant('A'))], [{ role: 'system', content: 'old' }])
  const p = prepare('chat', { messages: [{ role: 'developer', content: 'new' }, user('c')] }, r, roomy)!
  assert.deepEqual(p.json.messages, [{ role: 'developer', content: 'new' }, user('a'), assistant('A'), user('c')])
  assert.deepEqual(p.system, [{ role: 'developer', content: 'new' }])
})

test('the oldest turns are dropped first to fit the context window and max_turns', () => {
  const turns = Array.from({ length: 6 }, (_, i) => turn(user(`q${i} ${'x'.repeat(200)}`), assistant(`a${i}`)))
  const per = turns[0].tokens
  const fresh = { messages: [user('now')], max_tokens: 10 }
  const window = 10 + tokensOf([user('now')]) + 3 * per + 1
  const p = prepare('chat', fresh, chatRecord(turns), { maxTurns: 50, contextTokens: window, reserveOutputTokens: 100 })!
  assert.equal(p.dropped, 3)
  assert.deepEqual(p.kept, turns.slice(3))
  const q = prepare('chat', fresh, chatRecord(turns), { ...roomy, maxTurns: 2 })!
  assert.deepEqual(q.kept, turns.slice(4))
})

test('a kept history never starts with a tool result whose call was dropped', () => {
  const call = { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] }
  const turns = [turn(user('weather?'), call), turn({ role: 'tool', tool_call_id: 'c1', content: 'sunny' }, assistant('It is sunny.')), turn(user('thanks'), assistant('welcome'))]
  const p = prepare('chat', { messages: [user('bye')] }, chatRecord(turns), { ...roomy, maxTurns: 2 })!
  assert.deepEqual(p.kept, turns.slice(2))
})

test('messages: the system field is kept from the record when the request has none', () => {
  const r: SessionRecord = { v: 1, kind: 'messages', system: 'terse', turns: [turn(user('a'), { role: 'assistant', content: [{ type: 'text', text: 'A' }] })], updatedAt: 0 }
  const p = prepare('messages', { model: 'c', max_tokens: 10, messages: [user('b')] }, r, roomy)!
  assert.equal(p.json.system, 'terse')
  assert.equal((p.json.messages as unknown[]).length, 3)
})

test('responses: a string input becomes a user item after the history, previous_response_id is removed', () => {
  const r: SessionRecord = { v: 1, kind: 'responses', turns: [turn({ type: 'message', role: 'user', content: 'hi' }, { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'hello' }] })], updatedAt: 0 }
  const p = prepare('responses', { model: 'm', input: 'again', previous_response_id: 'resp_1', instructions: 'I' }, r, roomy)!
  assert.deepEqual(p.json.input, [...r.turns[0].items, { type: 'message', role: 'user', content: 'again' }])
  assert.equal('previous_response_id' in p.json, false)
  assert.equal(p.json.instructions, 'I')
})

test('appendTurn adds the new turn and trims the oldest to max_turns and max_tokens', () => {
  const turns = [turn(user('a'), assistant('A')), turn(user('b'), assistant('B'))]
  const p = prepare('chat', { messages: [user('c')] }, chatRecord(turns), roomy)!
  const r = appendTurn('chat', p, [assistant('C')], { maxTurns: 2, maxTokens: 10_000 }, 42)
  assert.deepEqual(r.turns.map((t) => t.items), [[user('b'), assistant('B')], [user('c'), assistant('C')]])
  assert.equal(r.updatedAt, 42)
  const small = appendTurn('chat', p, [assistant('C')], { maxTurns: 50, maxTokens: 1 })
  assert.equal(small.turns.length, 1, 'the new turn is always kept')
})

test('a record of another operation, or unreadable, is a new conversation', () => {
  assert.equal(parseRecord(JSON.stringify(chatRecord([])), 'messages'), undefined)
  assert.equal(parseRecord('{oops', 'chat'), undefined)
  assert.equal(parseRecord(undefined, 'chat'), undefined)
  assert.deepEqual(parseRecord(JSON.stringify(chatRecord([])), 'chat'), chatRecord([]))
})

test('a body without messages or input is not extended', () => {
  assert.equal(prepare('chat', { prompt: 'x' }, undefined, roomy), undefined)
  assert.equal(prepare('responses', { model: 'm' }, undefined, roomy), undefined)
})
