/**
 * Sessions in Redis, shared by hosts: two gateway processes with `store: redis` on one private
 * redis-server, in front of the Anthropic mock (Responses API translated) and the OpenAI mock.
 * A conversation started on one host goes on on the other; with Redis gone, a turn is refused with
 * 503 in the caller's protocol instead of being answered without its history.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startOpenAIMock } from '../support/mocks/openai-mock.js'
import { startAnthropicMock } from '../support/mocks/anthropic-mock.js'
import type { ProviderMock } from '../support/mocks/mock-server.js'
import { startGatewayHosts, stopGatewayHosts, type GatewayHost } from '../support/gateway-hosts.js'
import { startRedis, type RedisServer } from '../support/redis-server.js'

let oa: ProviderMock
let an: ProviderMock
let redis: RedisServer
let hosts: GatewayHost[]

before(async () => {
  oa = await startOpenAIMock({ apiKey: 'oa-key', reply: 'Noted.' })
  an = await startAnthropicMock({ apiKey: 'an-key', reply: 'Hello from Claude.' })
  redis = await startRedis()
  hosts = await startGatewayHosts({
    redis: { url: redis.url, keyPrefix: 'sy:', commandTimeout: '200ms' },
    listenerFilters: ['conversations'],
    config: `
filters:
  - { name: conversations, type: session, config: { store: redis, ttl: 10m } }
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
})

after(async () => {
  await stopGatewayHosts(hosts)
  await redis?.close()
  await oa?.close()
  await an?.close()
})

const client = (host: number, headers: Record<string, string> = {}) =>
  new OpenAI({ apiKey: 'caller', baseURL: `http://127.0.0.1:${hosts[host].port}/v1`, maxRetries: 0, defaultHeaders: headers })
const lastSent = (m: ProviderMock, path: string) => m.requests.filter((r) => r.url.startsWith(path)).at(-1)!.json

test('a chat conversation started on one host goes on on the other', async () => {
  const s = { 'x-session-id': 'redis-chat' }
  await client(0, s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'system', content: 'Sys.' }, { role: 'user', content: 'On host A.' }] })
  await client(1, s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'On host B.' }] })
  assert.deepEqual(lastSent(oa, '/v1/chat/completions').messages.map((m: any) => `${m.role}: ${m.content}`), ['system: Sys.', 'user: On host A.', 'assistant: Noted.', 'user: On host B.'])
  // Turns alternating between hosts as fast as the caller can send them: each reads the one before
  // (a next turn waits for the open turn's write on whichever host it ran).
  for (let i = 0; i < 6; i++) await client(i % 2, s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `Turn ${i}.` }] })
  assert.deepEqual(lastSent(oa, '/v1/chat/completions').messages.filter((m: any) => m.role === 'user').map((m: any) => m.content), ['On host A.', 'On host B.', 'Turn 0.', 'Turn 1.', 'Turn 2.', 'Turn 3.', 'Turn 4.', 'Turn 5.'])
  // Two turns sent at once on two hosts are both kept, one after the other.
  await Promise.all([client(0, s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Both X.' }] }), client(1, s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Both Y.' }] })])
  await client(0, s).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'After both.' }] })
  const users = lastSent(oa, '/v1/chat/completions').messages.filter((m: any) => m.role === 'user').map((m: any) => m.content)
  assert.deepEqual(users.slice(-3).sort(), ['After both.', 'Both X.', 'Both Y.'].sort())
  assert.equal(users.at(-1), 'After both.')
  // The record is in Redis, with Redis's own TTL.
  const ttl = redis.cli('PTTL', 'sy:session:default:-:s:redis-chat').trim()
  assert.ok(Number(ttl) > 9 * 60_000 && Number(ttl) <= 10 * 60_000, String(ttl))
})

test('previous_response_id from one host works on the other, through a route translated to Anthropic', async () => {
  const r1 = await client(0).responses.create({ model: 'claude-sonnet-4-5', input: 'My name is Ada.', max_output_tokens: 50 })
  await client(1).responses.create({ model: 'claude-sonnet-4-5', previous_response_id: r1.id, input: 'What is my name?', max_output_tokens: 50 })
  const sent = lastSent(an, '/v1/messages')
  assert.deepEqual(sent.messages.map((m: any) => m.role), ['user', 'assistant', 'user'])
  assert.match(JSON.stringify(sent.messages[0]), /My name is Ada/)
  // Deleted on host B, gone for host A.
  await client(1).responses.delete(r1.id)
  await assert.rejects(client(0).responses.create({ model: 'claude-sonnet-4-5', previous_response_id: r1.id, input: 'Hi', max_output_tokens: 50 }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'previous_response_not_found')
})

test('with Redis away, a session turn is refused with 503; a request without a session still goes through', async () => {
  redis.pause()
  try {
    await assert.rejects(client(0, { 'x-session-id': 'redis-down' }).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError)
      assert.equal(e.status, 503)
      assert.equal(e.code, 'session_store_unavailable')
      return true
    })
    const plain = await client(0).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'No session.' }] })
    assert.equal(plain.choices[0].message.content, 'Noted.')
  } finally {
    redis.resume()
  }
})
