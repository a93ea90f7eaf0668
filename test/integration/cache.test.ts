/**
 * Response cache end to end: one gateway process (one worker) in front of a local OpenAI-format
 * upstream that counts its calls, driven by the official `openai` and `@anthropic-ai/sdk` clients.
 * Each case asks its own question, so cases do not share entries.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let up: Upstream
let gw: GatewayProcess
let port: number

before(async () => {
  up = await startOpenAIUpstream('up')
  port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [who, answers] }
filters:
  - { name: who, type: trusted_header, config: { header: x-auth-tenant, sources: [127.0.0.1, "::1"] } }
  - { name: answers, type: cache, config: { ttl: 10m, single_flight: { wait: 5s } } }
tenants:
  - { name: acme }
  - { name: tenant-a }
  - { name: tenant-b }
routes:
  - name: main
    rules:
      - name: recover
        match: { headers: [{ name: x-case, exact: recover }] }
        fallback: { clusters: [{ cluster: a }, { cluster: a-again }] }
        stream_recovery: continue
      - name: short
        match: { headers: [{ name: x-case, exact: short }] }
        cluster: a
        filter_overrides: { answers: { config: { ttl: 2s } } }
      - name: chat
        cluster: a
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${up.url}" }] }
  - { name: a-again, provider: openai, endpoints: [{ url: "${up.url}" }] }
`)
})

after(async () => {
  await gw?.stop()
  await up?.close()
})

const calls = () => up.requests.filter((r) => r.url.includes('/chat/completions')).length
const openai = (tenant = 'acme', headers: Record<string, string> = {}) =>
  new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, defaultHeaders: { 'x-auth-tenant': tenant, ...headers } })
const anthropic = (tenant = 'acme') =>
  new Anthropic({ apiKey: 'k', baseURL: `http://127.0.0.1:${port}`, maxRetries: 0, defaultHeaders: { 'x-auth-tenant': tenant } })
const question = (text: string) => ({ model: 'gpt-4o', temperature: 0, max_tokens: 100, messages: [{ role: 'user' as const, content: text }] })

async function ask(client: OpenAI, text: string, headers: Record<string, string> = {}) {
  const { data, response } = await client.chat.completions.create(question(text), { headers }).withResponse()
  return { text: data.choices[0].message.content, cache: response.headers.get('x-switchyard-cache'), age: response.headers.get('age'), usage: data.usage, id: data.id }
}

async function askStream(client: OpenAI, text: string) {
  const { data, response } = await client.chat.completions.create({ ...question(text), stream: true, stream_options: { include_usage: true } }).withResponse()
  let out = ''
  const ids = new Set<string>()
  let usage: OpenAI.CompletionUsage | undefined
  let finish: string | null | undefined
  for await (const c of data) {
    ids.add(c.id)
    out += c.choices[0]?.delta?.content ?? ''
    finish ??= c.choices[0]?.finish_reason
    if (c.usage) usage = c.usage
  }
  return { text: out, cache: response.headers.get('x-switchyard-cache'), ids, usage, finish }
}

test('a repeated request is a hit: one upstream call, the same answer, x-switchyard-cache and age', async () => {
  const c = openai()
  const before = calls()
  const first = await ask(c, 'plain repeat')
  const second = await ask(c, 'plain repeat')
  assert.deepStrictEqual([first.cache, second.cache, second.age, calls() - before], ['miss', 'hit', '0', 1])
  assert.equal(second.text, first.text)
  assert.notEqual(second.id, first.id, 'a replay has an id of its own')
  assert.deepStrictEqual([second.usage?.prompt_tokens, second.usage?.prompt_tokens_details?.cached_tokens], [5, 5])
})

test('a streamed miss is forwarded live and stored; stream and non-stream callers are answered from it', async () => {
  const c = openai()
  const before = calls()
  const live = await askStream(c, 'stream me')
  assert.deepStrictEqual([live.cache, live.text], ['miss', 'Hello from up.'])
  const whole = await ask(c, 'stream me')
  const replayed = await askStream(c, 'stream me')
  assert.deepStrictEqual([whole.cache, whole.text], ['hit', 'Hello from up.'])
  assert.deepStrictEqual([replayed.cache, replayed.text, replayed.finish, replayed.ids.size], ['hit', 'Hello from up.', 'stop', 1])
  assert.ok(replayed.usage, 'include_usage: the replay ends with a usage chunk')
  assert.equal(calls() - before, 1)
})

test('an Anthropic caller is answered from an entry an OpenAI caller filled, whole and streamed', async () => {
  const before = calls()
  await ask(openai(), 'cross protocol')
  const a = anthropic()
  const { data, response } = await a.messages.create({ model: 'gpt-4o', max_tokens: 100, temperature: 0, messages: [{ role: 'user', content: 'cross protocol' }] }).withResponse()
  assert.equal(response.headers.get('x-switchyard-cache'), 'hit')
  assert.deepStrictEqual([data.type, data.content, data.stop_reason], ['message', [{ type: 'text', text: 'Hello from up.', citations: null }].map(({ citations, ...b }) => b), 'end_turn'])
  assert.equal(data.usage.cache_read_input_tokens, 5)
  const stream = a.messages.stream({ model: 'gpt-4o', max_tokens: 100, temperature: 0, messages: [{ role: 'user', content: 'cross protocol' }] })
  const final = await stream.finalMessage()
  assert.deepStrictEqual([final.content[0].type === 'text' && final.content[0].text, final.stop_reason], ['Hello from up.', 'end_turn'])
  assert.equal(calls() - before, 1)
})

test('tenants never share entries: same prompt, two tenants, two upstream calls', async () => {
  const before = calls()
  const a1 = await ask(openai('tenant-a'), 'tenant question')
  const b1 = await ask(openai('tenant-b'), 'tenant question')
  const a2 = await ask(openai('tenant-a'), 'tenant question')
  assert.deepStrictEqual([a1.cache, b1.cache, a2.cache, calls() - before], ['miss', 'miss', 'hit', 2])
})

test('Cache-Control no-store bypasses, no-cache refreshes, a request that is not deterministic bypasses', async () => {
  const c = openai()
  const before = calls()
  const bypassed = await ask(c, 'controls', { 'cache-control': 'no-store' })
  const filled = await ask(c, 'controls')
  const refreshed = await ask(c, 'controls', { 'cache-control': 'no-cache' })
  const hit = await ask(c, 'controls')
  assert.deepStrictEqual([bypassed.cache, filled.cache, refreshed.cache, hit.cache, calls() - before], ['bypass', 'miss', 'refresh', 'hit', 3])
  const { response } = await c.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'controls' }] }).withResponse()
  assert.equal(response.headers.get('x-switchyard-cache'), 'bypass', 'no temperature 0, no seed')
})

test('x-switchyard-cache-ttl caps the age served and is not forwarded upstream', async () => {
  const c = openai()
  await ask(c, 'ttl header')
  // Time itself is the condition: the entry must be older than the 1 s cap. It is stored in the
  // background after the answer, so leave half a second of slack for a slow store on a loaded box.
  await new Promise((r) => setTimeout(r, 1500))
  const capped = await ask(c, 'ttl header', { 'x-switchyard-cache-ttl': '1' })
  assert.equal(capped.cache, 'miss')
  assert.equal(up.requests.at(-1)!.headers['x-switchyard-cache-ttl'], undefined)
  const fresh = await ask(c, 'ttl header', { 'x-switchyard-cache-ttl': '60' })
  assert.equal(fresh.cache, 'hit')
})

test('an entry expires after its ttl (a rule override of 2s)', async () => {
  // 2 s, not a few hundred ms: the second ask must land inside the TTL even when a loaded box
  // takes most of a second per request.
  const c = openai('acme', { 'x-case': 'short' })
  const before = calls()
  const results = [(await ask(c, 'expiring')).cache, (await ask(c, 'expiring')).cache]
  // Time is the condition: past the TTL (counted from the background store, hence the slack).
  await new Promise((r) => setTimeout(r, 2500))
  results.push((await ask(c, 'expiring')).cache)
  assert.deepStrictEqual([...results, calls() - before], ['miss', 'hit', 'miss', 2])
})

test('an error answer is never stored', async () => {
  const c = openai()
  const before = calls()
  up.failNext('500')
  await assert.rejects(ask(c, 'error first'), (e: unknown) => e instanceof OpenAI.APIError && e.status === 500)
  assert.equal((await ask(c, 'error first')).cache, 'miss')
  assert.equal((await ask(c, 'error first')).cache, 'hit')
  assert.equal(calls() - before, 2)
})

test('a truncated stream and a stream cut mid-answer are never stored', async () => {
  const c = openai()
  for (const kind of ['truncate', 'cut-stream-now']) {
    const before = calls()
    up.failNext(kind)
    await assert.rejects(askStream(c, `broken ${kind}`))
    const next = await askStream(c, `broken ${kind}`)
    assert.deepStrictEqual([next.cache, next.text, calls() - before], ['miss', 'Hello from up.', 2], kind)
  }
})

test('a stream recovered mid-answer (stream_recovery: continue) is never stored', async () => {
  const c = openai('acme', { 'x-case': 'recover' })
  const before = calls()
  up.failNext('cut-stream-now')
  const recovered = await askStream(c, 'recover me')
  assert.equal(recovered.cache, 'miss')
  assert.ok(recovered.text.length > 0)
  assert.equal(calls() - before, 2, 'the cut attempt and its continuation')
  const next = await askStream(c, 'recover me')
  assert.deepStrictEqual([next.cache, calls() - before], ['miss', 3])
})

test('single flight: 50 concurrent identical misses make exactly one upstream call', async () => {
  const c = openai()
  const before = calls()
  up.failNext('slow-json:300')
  const all = await Promise.all(Array.from({ length: 50 }, () => ask(c, 'stampede')))
  assert.equal(calls() - before, 1)
  assert.deepStrictEqual(new Set(all.map((a) => a.text)), new Set(['Hello from up.']))
  assert.deepStrictEqual(all.map((a) => a.cache).sort((x, y) => x!.localeCompare(y!)).filter((v, i, a) => a.indexOf(v) === i), ['hit', 'miss'])
  assert.equal(all.filter((a) => a.cache === 'miss').length, 1)
})

test('admin /cache counts per route and DELETE /cache?tenant= removes only that tenant\'s entries', async () => {
  await ask(openai('tenant-a'), 'admin question')
  await ask(openai('tenant-b'), 'admin question')
  await ask(openai('tenant-a'), 'admin question')
  const view = (await (await fetch(`${gw.admin}/cache`)).json()) as { entries: number; bytes: number; routes: Record<string, { hit: number; miss: number; bypass: number; stored: number }> }
  assert.ok(view.entries >= 2 && view.bytes > 0)
  assert.ok(view.routes.chat.hit >= 1 && view.routes.chat.miss >= 2 && view.routes.chat.bypass >= 1 && view.routes.chat.stored >= 2, JSON.stringify(view.routes.chat))
  const purged = (await (await fetch(`${gw.admin}/cache?tenant=tenant-a`, { method: 'DELETE' })).json()) as { removed: number; entries: number }
  assert.ok(purged.removed >= 1)
  assert.equal(purged.entries, view.entries - purged.removed)
  assert.equal((await ask(openai('tenant-a'), 'admin question')).cache, 'miss')
  assert.equal((await ask(openai('tenant-b'), 'admin question')).cache, 'hit')
  const all = (await (await fetch(`${gw.admin}/cache?route=chat`, { method: 'DELETE' })).json()) as { removed: number }
  assert.ok(all.removed >= 2)
  assert.equal((await ask(openai('tenant-b'), 'admin question')).cache, 'miss')
})
