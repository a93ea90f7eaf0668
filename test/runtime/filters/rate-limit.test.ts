/**
 * The rate_limit filter in process (scope: local), through dispatch with the mock provider:
 * tiers picked by tenant labels, the 429 bodies and headers each caller protocol's SDK reads,
 * token reservation and reconciliation against the provider's usage, concurrency slots freed at
 * the end, per-header and per-key buckets, and buckets that outlive a snapshot (a reload).
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig } from '../../../src/compiler/index.js'
import { buildSnapshot, releaseSnapshot } from '../../../src/runtime/build/snapshot.js'
import { createStores } from '../../../src/runtime/stores.js'
import { dispatch } from '../../../src/runtime/http/dispatch.js'
import type { Snapshot, Stores } from '../../../src/runtime/types.js'
import { createKeyRecord } from '../../../src/shared/key-records.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'

const now = Date.now()
const free = createKeyRecord({ tenant: 'free', id: 'free-key' }, now)
const pro = createKeyRecord({ tenant: 'pro', id: 'pro-key' }, now)
const capped = createKeyRecord({ tenant: 'pro', id: 'capped-key' }, now)

function config(o: { freeRps?: number; tokens?: number } = {}): string {
  const record = (r: typeof free.record, extra = '') => `  - { id: ${r.id}, tenant: ${r.tenant}, hash: "${r.hash}"${extra} }`
  return `
admin: { port: 0 }
listeners:
  - { name: l, port: 8080, route_table: t, filters: [keys, limits] }
  - { name: open, port: 8081, route_table: t, filters: [anyone] }
filters:
  - { name: keys, type: api_key }
  - name: limits
    type: rate_limit
    config:
      default_max_output_tokens: 50
      limits:
        - { name: free, descriptor: [tenant], tenant_labels: { tier: free }, requests_per_second: ${o.freeRps ?? 3} }
        - { name: pro, descriptor: [tenant], tenant_labels: { tier: pro }, requests_per_second: 1000, tokens_per_minute: ${o.tokens ?? 500} }
        - { name: per-user, descriptor: [tenant, { header: x-user }], requests_per_minute: 2 }
  - name: anyone
    type: rate_limit
    config: { limits: [{ name: everyone, requests_per_minute: 2 }, { name: slots, concurrent_requests: 1 }] }
tenants:
  - { name: free, labels: { tier: free } }
  - { name: pro, labels: { tier: pro } }
keys:
${record(free.record)}
${record(pro.record)}
${record(capped.record, ', limits: { requests_per_minute: 1 }')}
routes: [{ name: t, rules: [{ name: chat, cluster: m }] }]
clusters: [{ name: m, provider: mock, models: [m] }]
`
}

function build(t: TestContext, stores: Stores, text = config()): Snapshot {
  const r = compileConfig([{ name: 'limits.yaml', text }], { source: 'test', env: {} })
  if (!r.ok) assert.fail(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`).join('\n'))
  const snap = buildSnapshot(r.ir, stores)
  t.after(() => releaseSnapshot(snap, stores))
  return snap
}

interface Sent { status: number; headers: Map<string, string>; body: any }

async function send(snap: Snapshot, o: { key?: string; port?: number; path?: string; body?: object; headers?: Record<string, string> } = {}): Promise<Sent> {
  const down = new MemoryDownstream()
  const path = o.path ?? '/v1/chat/completions'
  const body = o.body ?? (path === '/v1/messages'
    ? { model: 'm', max_tokens: 20, messages: [{ role: 'user', content: 'hello there' }] }
    : { model: 'm', messages: [{ role: 'user', content: 'hello there' }] })
  const auth: Record<string, string> = o.key === undefined ? {} : path === '/v1/messages' ? { 'x-api-key': o.key } : { authorization: `Bearer ${o.key}` }
  const headers = { 'content-type': 'application/json', ...auth, ...o.headers }
  await new Promise<void>((resolve) => {
    dispatch(snap, snap.listeners.get(o.port ?? 8080)!, { method: 'POST', path, query: '', headers, body: Buffer.from(JSON.stringify(body)) }, down, resolve)
  })
  const text = Buffer.concat(down.chunks.map((c) => c.data)).toString()
  return { status: down.status!, headers: new Map(down.headers.map(([k, v]) => [k.toLowerCase(), v])), body: text.startsWith('{') ? JSON.parse(text) : text }
}

test('a tier is picked by the tenant label: free gets its 3 per second, pro is not held to it', async (t) => {
  const snap = build(t, createStores())
  const codes: number[] = []
  for (let i = 0; i < 5; i++) codes.push((await send(snap, { key: free.key })).status)
  assert.deepEqual(codes, [200, 200, 200, 429, 429])
  for (let i = 0; i < 5; i++) assert.equal((await send(snap, { key: pro.key })).status, 200)
})

test('a refusal is OpenAI\'s rate_limit_exceeded with retry-after, retry-after-ms and x-ratelimit-* headers', async (t) => {
  const snap = build(t, createStores())
  for (let i = 0; i < 3; i++) await send(snap, { key: free.key })
  const r = await send(snap, { key: free.key })
  assert.equal(r.status, 429)
  assert.equal(r.body.error.type, 'requests')
  assert.equal(r.body.error.code, 'rate_limit_exceeded')
  assert.match(r.body.error.message, /limit 'free' on requests/)
  const wait = Number(r.headers.get('retry-after-ms'))
  assert.ok(wait > 0 && wait <= 334, `retry-after-ms ${wait}: one request refills in a third of a second`)
  assert.equal(r.headers.get('retry-after'), '1')
  assert.equal(r.headers.get('x-ratelimit-limit-requests'), '3')
  assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '0')
})

test('successful answers carry the rate-limit headers, in the Anthropic spelling for Anthropic callers', async (t) => {
  const snap = build(t, createStores())
  const openai = await send(snap, { key: pro.key })
  assert.equal(openai.status, 200)
  assert.equal(openai.headers.get('x-ratelimit-limit-requests'), '1000')
  assert.equal(openai.headers.get('x-ratelimit-limit-tokens'), '500')
  // The mock serves no Messages API (404 in Anthropic's shape): the admitted answer carries the headers all the same.
  const anthropic = await send(snap, { key: pro.key, path: '/v1/messages' })
  assert.equal(anthropic.body.type, 'error')
  assert.equal(anthropic.headers.get('anthropic-ratelimit-requests-limit'), '1000')
  assert.equal(anthropic.headers.get('anthropic-ratelimit-tokens-limit'), '500')
  assert.match(anthropic.headers.get('anthropic-ratelimit-tokens-reset')!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  assert.equal(anthropic.headers.has('x-ratelimit-limit-requests'), false)
})

test('tokens: the reservation (estimate + max_tokens) is replaced by the reported usage when the answer ends', async (t) => {
  const snap = build(t, createStores())
  const first = await send(snap, { key: pro.key, body: { model: 'm', max_tokens: 200, messages: [{ role: 'user', content: 'hello there' }] } })
  assert.equal(first.status, 200)
  // Seen at admission: the request's own reservation (≥ 200 for max_tokens) is taken.
  assert.ok(Number(first.headers.get('x-ratelimit-remaining-tokens')) <= 300, first.headers.get('x-ratelimit-remaining-tokens'))
  const used = first.body.usage.prompt_tokens + first.body.usage.completion_tokens
  const second = await send(snap, { key: pro.key, body: { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] } })
  const remaining = Number(second.headers.get('x-ratelimit-remaining-tokens'))
  // After reconcile only the first answer's real usage is gone, plus the second's own small reservation.
  assert.ok(remaining >= 500 - used - 20 && remaining < 500 - used, `remaining ${remaining}, first used ${used}`)
})

test('a reservation larger than the whole token limit is refused with x-should-retry: false', async (t) => {
  const snap = build(t, createStores())
  const r = await send(snap, { key: pro.key, body: { model: 'm', max_tokens: 5000, messages: [{ role: 'user', content: 'hi' }] } })
  assert.equal(r.status, 429)
  assert.equal(r.body.error.type, 'tokens')
  assert.equal(r.headers.get('x-should-retry'), 'false')
  assert.equal(r.headers.has('retry-after'), false)
  // Nothing was taken: a normal request still fits.
  assert.equal((await send(snap, { key: pro.key })).status, 200)
})

test('a key\'s own limit holds on top of its tenant\'s; a header descriptor gives each user a bucket', async (t) => {
  const snap = build(t, createStores())
  assert.equal((await send(snap, { key: capped.key })).status, 200)
  assert.equal((await send(snap, { key: capped.key })).status, 429)
  assert.equal((await send(snap, { key: pro.key })).status, 200, 'the tenant itself is not limited by one key')
  for (const user of ['ann', 'bob']) {
    assert.equal((await send(snap, { key: pro.key, headers: { 'x-user': user } })).status, 200)
    assert.equal((await send(snap, { key: pro.key, headers: { 'x-user': user } })).status, 200)
    assert.equal((await send(snap, { key: pro.key, headers: { 'x-user': user } })).status, 429, user)
  }
})

test('without identity, a descriptor-less limit is one bucket; concurrency slots are freed when answers end', async (t) => {
  const snap = build(t, createStores())
  // Sequential requests never overlap, so a limit of one slot admits each; the third is over the 2 per minute.
  assert.equal((await send(snap, { port: 8081 })).status, 200)
  assert.equal((await send(snap, { port: 8081 })).status, 200)
  const third = await send(snap, { port: 8081 })
  assert.equal(third.status, 429)
  assert.match(third.body.error.message, /'everyone'/)
})

test('buckets outlive the snapshot: a reload keeps what was used; a raised limit gives the difference at once', async (t) => {
  const stores = createStores()
  const before = build(t, stores)
  for (let i = 0; i < 3; i++) assert.equal((await send(before, { key: free.key })).status, 200)
  const same = build(t, stores)
  assert.equal((await send(same, { key: free.key })).status, 429, 'a reload does not reset a bucket')
  const raised = build(t, stores, config({ freeRps: 5 }))
  // 3 of 5 used (plus what refilled meanwhile): about two more fit, not five.
  const codes: number[] = []
  for (let i = 0; i < 5; i++) codes.push((await send(raised, { key: free.key })).status)
  const admitted = codes.filter((c) => c === 200).length
  assert.ok(admitted >= 2 && admitted <= 4 && codes.at(-1) === 429, `codes ${codes}`)
})
