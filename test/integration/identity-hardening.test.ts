/**
 * Identity under pressure, one gateway process (one worker: failure counts are per worker thread)
 * with access logging and debug logs on, called with the official `openai` and `@anthropic-ai/sdk`
 * clients:
 * - `ring_hash` with `hash_on: tenant` keeps each tenant on one endpoint and spreads tenants;
 * - failed authentications are throttled per source address: after `max_failures` wrong keys the
 *   source gets RateLimitError (429, Retry-After) even with a right key, other sources and other
 *   filters do not, the SDK's retry waits out the block;
 * - no key, key hash or JWT sent in this file (valid, invalid, refused, failed upstream) appears in
 *   the gateway's output, its admin API or any error body (this check runs last, over everything).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Agent, fetch as undiciFetch } from 'undici'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { createKeyRecord, type KeyRecord } from '../../src/shared/key-records.js'
import { startJwksServer, TEST_AUDIENCE, type JwksServer } from '../support/jwks-server.js'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

const RING_TENANTS = Array.from({ length: 12 }, (_, i) => `team-${i}`)
const BLOCK_MS = 2000

let idp: JwksServer
let up: Upstream
let ring: Upstream[]
let gw: GatewayProcess
let ports: { api: number; guarded: number; guarded6: number; sso: number }
const keys = new Map<string, { key: string; record: KeyRecord }>()
/** Every credential this file sends, and every error body it receives: the last test looks for the first in everything. */
const sentTokens: string[] = []
const errorTexts: string[] = []

const now = Date.now()
for (const t of ['free', 'guard', ...RING_TENANTS]) keys.set(t, createKeyRecord({ tenant: t, id: `${t}-key` }, now))
const key = (tenant: string) => keys.get(tenant)!.key

before(async () => {
  idp = await startJwksServer()
  up = await startOpenAIUpstream('upstream-a')
  ring = await Promise.all([0, 1, 2, 3].map((i) => startOpenAIUpstream(`ring-${i}`)))
  ports = { api: await freePort(), guarded: await freePort(), guarded6: await freePort(), sso: await freePort() }
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${ports.api}, route_table: main, filters: [keys] }
  - { name: guarded, address: 127.0.0.1, port: ${ports.guarded}, route_table: main, filters: [strict] }
  - { name: guarded6, address: "::1", port: ${ports.guarded6}, route_table: main, filters: [strict] }
  - { name: sso, address: 127.0.0.1, port: ${ports.sso}, route_table: main, filters: [sso] }
filters:
  - { name: keys, type: api_key }
  - { name: strict, type: api_key, config: { failures: { max_failures: 3, window: 1m, block: ${BLOCK_MS}ms } } }
  - name: sso
    type: jwt
    config:
      issuer: https://idp.test/
      audiences: [${TEST_AUDIENCE}]
      jwks: { url: "${idp.url}" }
      tenant: { claim: org }
tenants:
  - { name: free, models: [gpt-4o-mini, error-500, "claude-*"] }
  - { name: guard }
${RING_TENANTS.map((t) => `  - { name: ${t} }`).join('\n')}
routes:
  - name: main
    rules:
      - { name: ring, match: { model: { exact: ring } }, cluster: ring }
      - { name: rest, cluster: a }
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${up.url}" }] }
  - name: ring
    provider: openai
    lb: ring_hash
    ring_hash: { hash_on: tenant }
    endpoints:
${ring.map((u) => `      - { url: "${u.url}" }`).join('\n')}
keys:
${[...keys.values()].map(({ record }) => `  - { id: ${record.id}, tenant: ${record.tenant}, hash: "${record.hash}" }`).join('\n')}
`, { env: { SWITCHYARD_ACCESS_LOG: '1', SWITCHYARD_LOG_LEVEL: 'debug' } })
})

after(async () => {
  const code = await gw?.stop()
  await Promise.all([up?.close(), idp?.close(), ...(ring ?? []).map((u) => u.close())])
  assert.equal(code, 0, `gateway exit code; output:\n${gw?.output()}`)
})

/** An openai client; `from` binds the client side of the connection to another loopback address (another source). */
function openai(port: number, apiKey: string, o: { host?: string; from?: string; maxRetries?: number; headers?: Record<string, string | null> } = {}): OpenAI {
  sentTokens.push(apiKey)
  const dispatcher = o.from ? new Agent({ localAddress: o.from }) : undefined
  return new OpenAI({
    baseURL: `http://${o.host ?? '127.0.0.1'}:${port}/v1`, apiKey, maxRetries: o.maxRetries ?? 0,
    ...(o.headers && { defaultHeaders: o.headers }),
    ...(dispatcher && { fetch: ((url: string, init: any) => undiciFetch(url, { ...init, dispatcher })) as any }),
  })
}
const chat = (c: OpenAI, model = 'gpt-4o-mini') => c.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })
/** The SDK error a call ends in; its body goes to the leak check. */
async function refusal(p: Promise<unknown>): Promise<any> {
  const e = await p.then(() => assert.fail('served'), (e) => e)
  errorTexts.push(`${e.message}\n${JSON.stringify(e.error)}\n${JSON.stringify(Object.fromEntries(e.headers ?? []))}`)
  return e
}
const text = (r: OpenAI.Chat.Completions.ChatCompletion) => r.choices[0].message.content

describe('ring_hash keyed by tenant', () => {
  test('each tenant stays on one endpoint; tenants spread over the endpoints', async () => {
    const byTenant = new Map<string, Set<string>>()
    await Promise.all(RING_TENANTS.flatMap((t) => Array.from({ length: 5 }, async () => {
      const served = text(await chat(openai(ports.api, key(t)), 'ring'))!
      if (!byTenant.has(t)) byTenant.set(t, new Set())
      byTenant.get(t)!.add(served)
    })))
    for (const [t, seen] of byTenant) assert.equal(seen.size, 1, `${t} was served by ${[...seen].join(', ')}`)
    const used = new Set([...byTenant.values()].map((s) => [...s][0]))
    assert.ok(used.size >= 3, `12 tenants landed on ${used.size} of 4 endpoints: ${[...byTenant].map(([t, s]) => `${t}→${[...s][0]}`).join(' ')}`)
    assert.equal(ring.reduce((n, u) => n + u.requests.length, 0), RING_TENANTS.length * 5)
  })
})

describe('failed authentications are throttled per source address', () => {
  test('after max_failures wrong keys the source gets 429 with Retry-After, even with the right key; other sources and filters do not; the block ends', async () => {
    const wrong = createKeyRecord({ tenant: 'guard', id: 'guess' }, now).key
    for (let i = 1; i <= 3; i++) {
      const e = await refusal(chat(openai(ports.guarded, wrong)))
      assert.ok(e instanceof OpenAI.AuthenticationError, `failure ${i}: ${e}`)
    }
    const blockedAt = performance.now()
    for (const [what, k] of [['right key', key('guard')], ['wrong key', wrong]] as const) {
      const e = await refusal(chat(openai(ports.guarded, k)))
      assert.ok(e instanceof OpenAI.RateLimitError, `${what}: ${e}`)
      assert.equal(e.status, 429)
      assert.equal(e.code, 'rate_limit_exceeded')
      assert.equal(e.headers.get('retry-after'), String(BLOCK_MS / 1000), what)
    }
    const a = await refusal(new Anthropic({ baseURL: `http://127.0.0.1:${ports.guarded}`, apiKey: key('guard'), maxRetries: 0 })
      .messages.create({ model: 'claude-3-5-haiku', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }))
    assert.ok(a instanceof Anthropic.RateLimitError, String(a))
    assert.equal((a.error as any)?.error?.type, 'rate_limit_error')
    assert.ok(a.headers.get('retry-after'))

    // Another source on the same listener and filter (127.0.0.2: Linux routes all of 127/8 to lo):
    // served, and its wrong key is a plain 401.
    assert.equal(text(await chat(openai(ports.guarded, key('guard'), { from: '127.0.0.2' }))), 'Hello from upstream-a.')
    assert.ok((await refusal(chat(openai(ports.guarded, wrong, { from: '127.0.0.2' })))) instanceof OpenAI.AuthenticationError)
    // Another source on another listener with the same filter (::1), and the blocked source on a
    // listener with another filter: both served.
    assert.equal(text(await chat(openai(ports.guarded6, key('guard'), { host: '[::1]' }))), 'Hello from upstream-a.')
    assert.equal(text(await chat(openai(ports.api, key('guard')))), 'Hello from upstream-a.')
    assert.ok(performance.now() - blockedAt < BLOCK_MS - 200, 'the checks above ran while the block held')

    // The SDK's own retry honours Retry-After: the right key gets through once the block ends.
    const t0 = performance.now()
    assert.equal(text(await chat(openai(ports.guarded, key('guard'), { maxRetries: 2 }))), 'Hello from upstream-a.')
    const waited = performance.now() - t0
    const sinceBlock = performance.now() - blockedAt
    assert.ok(sinceBlock >= BLOCK_MS - 50, `served ${Math.round(sinceBlock)} ms after the block began`)
    assert.ok(waited < BLOCK_MS + 2500, `the SDK waited ${Math.round(waited)} ms`)
    assert.match(gw.output(), /authentication failures: source blocked filter=api_key source=127\.0\.0\.1 block_ms=2000 reason=\w+ key=guess\b/)
  })
})

describe('secrets never leak', () => {
  test('keys and JWTs through every path (valid, refused, forbidden, failed upstream) appear in no log line, admin answer or error body', async () => {
    const free = keys.get('free')!
    const typo = free.key.slice(0, -1) + (free.key.endsWith('a') ? 'b' : 'a')
    const unknown = createKeyRecord({ tenant: 'free', id: 'free-key' }, now).key // a right-looking key under a real id
    // api_key: valid (Bearer, x-api-key, api-key, streamed), refused, forbidden, upstream failure.
    assert.equal(text(await chat(openai(ports.api, free.key))), 'Hello from upstream-a.')
    assert.equal(text(await chat(openai(ports.api, 'unused', { headers: { authorization: null, 'api-key': free.key } }))), 'Hello from upstream-a.')
    sentTokens.push(free.key)
    const anthropic = (k: string) => new Anthropic({ baseURL: `http://127.0.0.1:${ports.api}`, apiKey: k, maxRetries: 0 })
    const ask = (k: string, model = 'claude-3-5-haiku') => anthropic(k).messages.create({ model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
    assert.equal((await ask(free.key)).content.length, 1)
    let chunks = 0
    for await (const _ of await openai(ports.api, free.key).chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] })) chunks++
    assert.ok(chunks > 1)
    for (const k of [typo, unknown, 'sk-live-0123456789abcdef0123456789abcdef']) {
      assert.ok((await refusal(chat(openai(ports.api, k)))) instanceof OpenAI.AuthenticationError)
      sentTokens.push(k)
      assert.ok((await refusal(ask(k))) instanceof Anthropic.AuthenticationError)
    }
    assert.ok((await refusal(chat(openai(ports.api, free.key), 'gpt-4o'))) instanceof OpenAI.PermissionDeniedError)
    assert.ok((await refusal(ask(free.key, 'gpt-4o'))) instanceof Anthropic.PermissionDeniedError)
    assert.ok((await refusal(chat(openai(ports.api, free.key), 'error-500'))) instanceof OpenAI.InternalServerError)

    // jwt: valid, expired, wrong audience, unmapped tenant, forbidden model, upstream failure.
    const valid = await idp.sign({ sub: 'u1', org: 'free' })
    assert.equal(text(await chat(openai(ports.sso, valid))), 'Hello from upstream-a.')
    for (const bad of [await idp.sign({ org: 'free' }, { expiresInSec: -120 }), await idp.sign({ org: 'free' }, { audience: 'other' }), await idp.sign({ org: 'nobody' })]) {
      assert.ok((await refusal(chat(openai(ports.sso, bad)))) instanceof OpenAI.AuthenticationError)
    }
    assert.ok((await refusal(chat(openai(ports.sso, valid), 'gpt-4o'))) instanceof OpenAI.PermissionDeniedError)
    assert.ok((await refusal(chat(openai(ports.sso, valid), 'error-500'))) instanceof OpenAI.InternalServerError)

    const admin = async (path: string) => {
      const r = await fetch(`${gw.admin}${path}`)
      assert.equal(r.status, 200, path)
      return `${path}: ${await r.text()}`
    }
    const answers = await Promise.all([
      '/config', '/runtime', '/clusters', '/tenants', '/keys',
      ...['free', 'guard', ...RING_TENANTS].map((t) => `/tenants/${t}`),
      ...[...keys.values()].map(({ record }) => `/keys/${record.id}`),
    ].map(admin))
    const output = gw.output()
    // The logs were on: the checks below look at real lines.
    assert.match(output, / access .*status=401/)
    assert.match(output, / access .*status=403/)
    assert.match(output, / access .*status=429/)
    assert.match(output, /debug .*authentication refused filter=jwt reason=expired/)
    assert.match(output, /debug .*authentication refused filter=api_key reason=\w+ .*key=free-key/)

    const haystacks: [string, string][] = [['gateway output', output], ...answers.map((a): [string, string] => [a.slice(0, a.indexOf(':')), a]), ...errorTexts.map((e, i): [string, string] => [`error body ${i}`, e])]
    const needles: [string, string][] = []
    for (const t of new Set(sentTokens.filter((t) => t.length >= 16))) {
      needles.push([`credential ${t.slice(0, 12)}…`, t])
      // The secret part alone (after a Switchyard key's id; a JWT's signature).
      if (t.startsWith('sy-')) needles.push([`secret of ${t.slice(0, 12)}…`, t.slice(t.indexOf('_') + 1)])
      if (t.split('.').length === 3) needles.push([`signature of a JWT`, t.split('.')[2]])
    }
    for (const { record } of keys.values()) {
      const hex = record.hash.slice('sha256:'.length)
      needles.push([`hash of ${record.id}`, hex], [`hash prefix of ${record.id}`, hex.slice(0, 16)])
    }
    assert.ok(needles.length > 40, `${needles.length} needles`)
    // A control: the config file holds every hash, and the needles find them there.
    const configText = readFileSync(gw.configPath, 'utf8')
    for (const [what, needle] of needles) if (what.startsWith('hash')) assert.ok(configText.includes(needle), `control: ${what} not found in the config`)
    for (const [where, hay] of haystacks) {
      for (const [what, needle] of needles) assert.ok(!hay.includes(needle), `${what} appears in ${where}`)
    }
  })
})
