/**
 * Conversation sessions end to end: one gateway process with two worker threads (the memory store
 * is the process's, so a conversation's turns may land on either), the official `openai` and
 * `@anthropic-ai/sdk` clients, an OpenAI mock and an Anthropic mock that record what they were
 * sent. Chat routes go to the OpenAI mock; `claude-*` models to the Anthropic mock, translated —
 * so `previous_response_id` there is the gateway's alone. Each case uses its own session ids.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startOpenAIMock } from '../support/mocks/openai-mock.js'
import { startAnthropicMock } from '../support/mocks/anthropic-mock.js'
import type { ProviderMock } from '../support/mocks/mock-server.js'
import { startGatewayHosts, stopGatewayHosts, type GatewayHost } from '../support/gateway-hosts.js'
import { eventuallyValue } from '../support/eventually.js'

let oa: ProviderMock
let an: ProviderMock
let host: GatewayHost
let port: number

before(async () => {
  oa = await startOpenAIMock({ apiKey: 'oa-key', reply: 'Noted.' })
  an = await startAnthropicMock({ apiKey: 'an-key', reply: 'Hello from Claude.' })
  ;[host] = await startGatewayHosts({
    hosts: 1, workers: 2,
    listenerFilters: ['who', 'conversations'],
    config: `
filters:
  - { name: who, type: trusted_header, config: { header: x-auth-tenant, sources: [127.0.0.1, "::1"] } }
  - name: conversations
    type: session
    config: { ttl: 10m, max_turns: 20, context_windows: { gpt-tiny: 400 }, reserve_output_tokens: 50 }
tenants:
  - { name: acme }
  - { name: globex }
routes:
  - name: main
    rules:
      - { name: claude, match: { model: { glob: "claude-*" } }, cluster: anthropic }
      - { name: gpt, cluster: openai }
clusters:
  - { name: openai, provider: openai, endpoints: [{ url: "${oa.url}/v1", api_key: oa-key }] }
  - { name: anthropic, provider: anthropic, endpoints: [{ url: "${an.url}/v1", api_key: an-key }] }
`,
  })
  port = host.port
})

after(async () => {
  await stopGatewayHosts([host])
  await oa?.close()
  await an?.close()
})

/** A fresh client (a fresh connection, so turns spread over both workers). */
const openai = (headers: Record<string, string> = {}, tenant = 'acme') =>
  new OpenAI({ apiKey: 'caller', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, defaultHeaders: { 'x-auth-tenant': tenant, ...headers } })
const lastSent = (m: ProviderMock, path: string) => m.requests.filter((r) => r.url.startsWith(path)).at(-1)!.json
const roles = (messages: { role: string; content: unknown }[]) => messages.map((m) => `${m.role}: ${typeof m.content === 'string' ? m.content : JSON.stringify(m.content)}`)
const admin = (path: string, method = 'GET') => fetch(`http://127.0.0.1:${host.gw.adminPort}${path}`, { method })

test('chat with x-session-id: the client sends one turn, the upstream gets the conversation with its system prompt', async () => {
  const s = { 'x-session-id': 'chat-1' }
  const first = await openai(s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'My name is Ada.' }] }).withResponse()
  assert.equal(first.response.headers.get('x-switchyard-session-turns'), '0')
  await openai(s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'I like tea.' }] })
  const third = await openai(s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'What is my name?' }] }).withResponse()
  assert.equal(third.response.headers.get('x-switchyard-session-turns'), '2')
  assert.deepEqual(roles(lastSent(oa, '/v1/chat/completions').messages), [
    'system: Be brief.', 'user: My name is Ada.', 'assistant: Noted.', 'user: I like tea.', 'assistant: Noted.', 'user: What is my name?',
  ])
})

test('a streamed chat answer is appended once its stream completed', async () => {
  const s = { 'x-session-id': 'chat-stream' }
  const stream = await openai(s).chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Stream to me.' }] })
  let text = ''
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''
  assert.equal(text, 'Noted.')
  await openai(s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Again.' }] })
  assert.deepEqual(roles(lastSent(oa, '/v1/chat/completions').messages), ['user: Stream to me.', 'assistant: Noted.', 'user: Again.'])
})

test('a failed answer and a broken stream leave the conversation unchanged', async () => {
  const s = { 'x-session-id': 'chat-fail' }
  await openai(s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Turn one.' }] })
  oa.failNext({ kind: 'server' })
  await assert.rejects(openai(s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'This one fails.' }] }), (e: unknown) => e instanceof OpenAI.APIError && e.status === 500)
  oa.failNext({ kind: 'midstream' })
  await assert.rejects(async () => {
    const stream = await openai(s).chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'This one breaks.' }] })
    for await (const _ of stream) { /* read to the error */ }
  })
  await openai(s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Turn two.' }] })
  assert.deepEqual(roles(lastSent(oa, '/v1/chat/completions').messages), ['user: Turn one.', 'assistant: Noted.', 'user: Turn two.'])
})

test('two turns sent at once on one conversation are both kept (the second waits for the first)', async () => {
  const s = { 'x-session-id': 'chat-concurrent' }
  await Promise.all([
    openai(s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Parallel A.' }] }),
    openai(s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Parallel B.' }] }),
  ])
  await openai(s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'After.' }] })
  const sent = roles(lastSent(oa, '/v1/chat/completions').messages)
  assert.equal(sent.length, 5, JSON.stringify(sent))
  assert.ok(sent.includes('user: Parallel A.') && sent.includes('user: Parallel B.'))
})

test("another tenant's session id is a new conversation", async () => {
  const s = { 'x-session-id': 'shared-name' }
  await openai(s, 'acme').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Acme secret.' }] })
  await openai(s, 'globex').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Globex here.' }] })
  assert.deepEqual(roles(lastSent(oa, '/v1/chat/completions').messages), ['user: Globex here.'])
})

test('the oldest turns are dropped to fit the context window; the system prompt stays', async () => {
  // gpt-tiny has a 400-token window (50 reserved for the answer); each turn here is ~100 tokens.
  const s = { 'x-session-id': 'chat-window' }
  const long = (n: number) => `Turn ${n}: ${'lorem ipsum dolor sit amet '.repeat(12)}`
  const dropped: (string | null)[] = []
  for (let i = 1; i <= 4; i++) {
    const r = await openai(s).chat.completions.create({ model: 'gpt-tiny', messages: [{ role: 'system', content: 'Sys.' }, { role: 'user', content: long(i) }] }).withResponse()
    dropped.push(r.response.headers.get('x-switchyard-session-dropped'))
  }
  assert.deepEqual(dropped, [null, null, null, '1'], 'the fourth turn no longer fits with all three before it')
  await openai(s).chat.completions.create({ model: 'gpt-tiny', messages: [{ role: 'user', content: 'Now?' }] })
  const sent = roles(lastSent(oa, '/v1/chat/completions').messages)
  assert.equal(sent[0], 'system: Sys.', 'the stored system prompt is kept')
  assert.equal(sent.at(-1), 'user: Now?')
  assert.deepEqual(sent.filter((m) => m.startsWith('user: Turn')).map((m) => m.slice(6, 12)), ['Turn 2', 'Turn 3', 'Turn 4'], JSON.stringify(sent))
})

test('Responses API: previous_response_id through a route translated to Anthropic, streamed and not', async () => {
  const client = openai()
  const r1 = await client.responses.create({ model: 'claude-sonnet-4-5', instructions: 'Be kind.', input: 'My name is Ada.', max_output_tokens: 100 })
  assert.equal(r1.output_text, 'Hello from Claude.')
  const r2 = await openai().responses.create({ model: 'claude-sonnet-4-5', previous_response_id: r1.id, input: 'What is my name?', max_output_tokens: 100 })
  let sent = lastSent(an, '/v1/messages')
  assert.deepEqual(sent.messages.map((m: any) => m.role), ['user', 'assistant', 'user'])
  assert.match(JSON.stringify(sent.messages[0].content), /My name is Ada\./)
  assert.match(JSON.stringify(sent.messages[2].content), /What is my name\?/)
  assert.equal(sent.messages[1].role, 'assistant')
  assert.match(JSON.stringify(sent.messages[1].content), /Hello from Claude\./)
  assert.equal(sent.system, undefined, 'instructions are not carried over (OpenAI semantics)')
  const stream = await openai().responses.create({ model: 'claude-sonnet-4-5', previous_response_id: r2.id, input: 'And now?', max_output_tokens: 100, stream: true })
  let r3id = ''
  for await (const ev of stream) if (ev.type === 'response.completed') r3id = ev.response.id
  assert.ok(r3id.startsWith('resp_'))
  await openai().responses.create({ model: 'claude-sonnet-4-5', previous_response_id: r3id, input: 'Last.', max_output_tokens: 100 })
  sent = lastSent(an, '/v1/messages')
  assert.equal(sent.messages.length, 7, 'three earlier turns of two messages each, and the new one')
  assert.match(JSON.stringify(sent.messages[4]), /And now\?/)
})

test('Responses API: an unknown or deleted previous_response_id is a 400 previous_response_not_found', async () => {
  await assert.rejects(openai().responses.create({ model: 'claude-sonnet-4-5', previous_response_id: 'resp_never', input: 'Hi', max_output_tokens: 50 }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.BadRequestError)
    assert.equal(e.code, 'previous_response_not_found')
    assert.equal(e.param, 'previous_response_id')
    return true
  })
  const r = await openai().responses.create({ model: 'claude-sonnet-4-5', input: 'Remember me.', max_output_tokens: 50 })
  const deleted = await openai().responses.delete(r.id)
  assert.deepEqual(deleted, { id: r.id, object: 'response', deleted: true })
  await assert.rejects(openai().responses.create({ model: 'claude-sonnet-4-5', previous_response_id: r.id, input: 'Hi', max_output_tokens: 50 }), OpenAI.BadRequestError)
  // Another tenant cannot use (or delete) it either.
  const kept = await openai().responses.create({ model: 'claude-sonnet-4-5', input: 'Mine.', max_output_tokens: 50 })
  await assert.rejects(openai({}, 'globex').responses.create({ model: 'claude-sonnet-4-5', previous_response_id: kept.id, input: 'Hi', max_output_tokens: 50 }), OpenAI.BadRequestError)
})

test('Responses API: store: false keeps nothing', async () => {
  const r = await openai().responses.create({ model: 'claude-sonnet-4-5', input: 'Forget me.', store: false, max_output_tokens: 50 })
  await assert.rejects(openai().responses.create({ model: 'claude-sonnet-4-5', previous_response_id: r.id, input: 'Hi', max_output_tokens: 50 }), OpenAI.BadRequestError)
})

test('Anthropic Messages with x-session-id, through the official Anthropic client', async () => {
  const claude = () => new Anthropic({ apiKey: 'caller', baseURL: `http://127.0.0.1:${port}`, maxRetries: 0, defaultHeaders: { 'x-auth-tenant': 'acme', 'x-session-id': 'claude-1' } })
  await claude().messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, system: 'You are terse.', messages: [{ role: 'user', content: 'One.' }] })
  await claude().messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Two.' }] })
  const sent = lastSent(an, '/v1/messages')
  assert.equal(sent.system, 'You are terse.')
  assert.deepEqual(sent.messages.map((m: any) => m.role), ['user', 'assistant', 'user'])
  assert.match(JSON.stringify(sent.messages[1].content), /Hello from Claude\./)
})

test('admin: GET shows a conversation, DELETE removes it', async () => {
  const s = { 'x-session-id': 'admin-1' }
  await openai(s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Keep this.' }] })
  // The turn's write is posted as its answer ends, so the admin read may come first: wait for it to land.
  const got = await eventuallyValue(async () => {
    const r = await admin('/sessions/admin-1?tenant=acme')
    return r.status === 200 ? r : (await r.body?.cancel(), undefined)
  }, undefined, 'the conversation in the admin view')
  const body = (await got.json()) as { found: { kind: string; record: { turns: { items: { content: string }[] }[] } }[] }
  assert.equal(body.found[0].kind, 'session')
  assert.equal(body.found[0].record.turns[0].items[0].content, 'Keep this.')
  assert.equal((await admin('/sessions/admin-1?tenant=globex')).status, 404)
  const del = await admin('/sessions/admin-1?tenant=acme', 'DELETE')
  assert.equal(((await del.json()) as { deleted: number }).deleted, 1)
  assert.equal((await admin('/sessions/admin-1?tenant=acme')).status, 404)
  await openai(s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Fresh.' }] })
  assert.deepEqual(roles(lastSent(oa, '/v1/chat/completions').messages), ['user: Fresh.'])
})

test('a bad session id is refused in the caller protocol', async () => {
  await assert.rejects(openai({ 'x-session-id': 'x'.repeat(300) }).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.BadRequestError)
    assert.match(e.message, /x-session-id is longer than 256 characters/)
    return true
  })
})
