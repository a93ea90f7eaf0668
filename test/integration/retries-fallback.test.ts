/**
 * Retries and fallback chains against upstreams that fail on command: the client sees an answer
 * whenever some configured upstream can give one, and the right error fast when none can.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let a: Upstream
let b: Upstream
let c: Upstream
let gw: GatewayProcess
let base: string
let deadPort: number

before(async () => {
  a = await startOpenAIUpstream('A')
  b = await startOpenAIUpstream('B')
  c = await startOpenAIUpstream('C')
  deadPort = await freePort()
  const port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - name: retry-only
        match: { headers: [{ name: x-case, exact: retry }] }
        cluster: a
        retry_policy: { retry_on: [5xx, reset, 429], num_retries: 2, base_interval: 5ms, max_interval: 20ms, retry_after_cap: 2s }
      - name: two-endpoints
        match: { headers: [{ name: x-case, exact: spread }] }
        cluster: dead-and-b
        retry_policy: { retry_on: [connect_failure], num_retries: 1 }
      - name: chain
        match: { headers: [{ name: x-case, exact: chain }] }
        fallback:
          clusters: [{ cluster: dead }, { cluster: a, model_rewrite: gpt-4o-azure }, { cluster: c, model_rewrite: claude-fallback }]
          on: [connect_failure, reset, timeout, 5xx, 429, context_length]
        retry_policy: { retry_on: [timeout], num_retries: 0, per_try_timeout: 300ms, retry_after_cap: 500ms }
      - name: stalls
        match: { headers: [{ name: x-case, exact: stall }] }
        fallback: { clusters: [{ cluster: a }, { cluster: b }] }
        first_token_timeout: 300ms
        idle_timeout: 300ms
      - name: recover
        match: { headers: [{ name: x-case, exact: recover }] }
        fallback: { clusters: [{ cluster: a }, { cluster: b, model_rewrite: gpt-4o-backup }] }
        stream_recovery: continue
      - name: long-context
        match: { headers: [{ name: x-case, exact: context }] }
        fallback:
          clusters: [{ cluster: a }, { cluster: b, model_rewrite: gpt-4o-128k }]
          on: [context_length]
      - name: cluster-default
        match: { headers: [{ name: x-case, exact: cluster-default }] }
        cluster: c-retrying
      - name: route-overrides-cluster-default
        match: { headers: [{ name: x-case, exact: route-override }] }
        cluster: c-retrying
        retry_policy: { retry_on: [reset], num_retries: 1 }
      - name: nothing-left
        match: { headers: [{ name: x-case, exact: none }] }
        fallback: { clusters: [{ cluster: dead }, { cluster: dead2 }] }
        retry_policy: { retry_on: [connect_failure], num_retries: 1, base_interval: 1ms, max_interval: 2ms }
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${a.url}" }] }
  - { name: b, provider: openai, endpoints: [{ url: "${b.url}" }] }
  - { name: c, provider: openai, endpoints: [{ url: "${c.url}" }] }
  - { name: dead, provider: openai, connect_timeout: 500ms, endpoints: [{ url: "http://127.0.0.1:${deadPort}/v1" }] }
  - { name: dead2, provider: openai, connect_timeout: 500ms, endpoints: [{ url: "http://127.0.0.1:${deadPort}/v2" }] }
  - name: c-retrying
    provider: openai
    endpoints: [{ url: "${c.url}" }]
    retry_policy: { retry_on: [5xx], num_retries: 2, base_interval: 1ms, max_interval: 2ms }
  - name: dead-and-b
    provider: openai
    lb: round_robin
    endpoints: [{ url: "http://127.0.0.1:${deadPort}/v1" }, { url: "${b.url}" }]
`)
  base = `http://127.0.0.1:${port}/v1`
})

after(async () => {
  const code = await gw?.stop()
  for (const u of [a, b, c]) await u?.close()
  assert.equal(code, 0, gw?.output())
})

const chat = async (xcase: string, model = 'gpt-4o', extra: object = {}) => {
  const client = new OpenAI({ baseURL: base, apiKey: 'k', maxRetries: 0, defaultHeaders: { 'x-case': xcase } })
  return client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], ...extra }).withResponse()
}

test('a 500 then a reset are retried on the same cluster and the answer says so', async () => {
  a.failNext('500', 'reset')
  const { data, response } = await chat('retry')
  assert.equal(data.choices[0].message.content, 'Hello from A.')
  assert.equal(response.headers.get('x-switchyard-attempts'), '3')
  assert.equal(response.headers.get('x-switchyard-cluster'), 'a')
})

test("a route without a retry_policy uses its cluster's default; a route's own policy replaces it whole", async () => {
  c.failNext('503', '500')
  const { data, response } = await chat('cluster-default')
  assert.equal(data.choices[0].message.content, 'Hello from C.')
  assert.equal(response.headers.get('x-switchyard-attempts'), '3')
  // The route's policy retries resets only: a 503 goes straight to the client.
  c.failNext('503')
  const r = await chat('route-override').catch((e) => e)
  assert.equal(r.status, 503, String(r))
})

test('a 429 with a short Retry-After is waited out, then retried', async () => {
  a.failNext('429:1')
  const t0 = performance.now()
  const { data } = await chat('retry')
  assert.equal(data.choices[0].message.content, 'Hello from A.')
  assert.ok(performance.now() - t0 >= 900, 'Retry-After: 1 was not honoured')
})

test('when retries run out, the last upstream error reaches the client unchanged', async () => {
  a.failNext('503', '503', '503')
  await assert.rejects(chat('retry'), (e: any) => e.status === 503 && /injected 503/.test(e.message))
})

test('a retry goes to another endpoint of the cluster', async () => {
  for (let i = 0; i < 6; i++) {
    const { data, response } = await chat('spread')
    assert.equal(data.choices[0].message.content, 'Hello from B.')
    assert.ok(['1', '2'].includes(response.headers.get('x-switchyard-attempts')!))
  }
})

test('a fallback chain skips a dead cluster and rewrites the model for the next one', async () => {
  const { data, response } = await chat('chain')
  assert.equal(data.choices[0].message.content, 'Hello from A.')
  assert.equal(response.headers.get('x-switchyard-cluster'), 'a')
  assert.equal(response.headers.get('x-switchyard-attempts'), '2')
  assert.equal(a.requests.at(-1)!.body.model, 'gpt-4o-azure')
})

test('a 429 with a Retry-After beyond the cap fails over instead of waiting', async () => {
  a.failNext('429:30')
  const t0 = performance.now()
  const { data, response } = await chat('chain')
  assert.equal(data.choices[0].message.content, 'Hello from C.')
  assert.equal(response.headers.get('x-switchyard-cluster'), 'c')
  assert.equal(c.requests.at(-1)!.body.model, 'claude-fallback')
  assert.ok(performance.now() - t0 < 1500)
})

test('an upstream slower than the per-try timeout fails over', async () => {
  a.failNext('hang')
  const t0 = performance.now()
  const { data } = await chat('chain')
  assert.equal(data.choices[0].message.content, 'Hello from C.')
  const took = performance.now() - t0
  assert.ok(took >= 250 && took < 2000, `took ${took.toFixed(0)} ms`)
})

test('a context-length error fails over to the longer-context model', async () => {
  a.failNext('context_length')
  const { data, response } = await chat('context')
  assert.equal(data.choices[0].message.content, 'Hello from B.')
  assert.equal(response.headers.get('x-switchyard-cluster'), 'b')
  assert.equal(b.requests.at(-1)!.body.model, 'gpt-4o-128k')
})

test('a stream whose upstream fails before the first byte is retried invisibly', async () => {
  a.failNext('500')
  const client = new OpenAI({ baseURL: base, apiKey: 'k', maxRetries: 0, defaultHeaders: { 'x-case': 'retry' } })
  const s = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] })
  let text = ''
  for await (const ch of s) {
    assert.equal(ch.usage ?? undefined, undefined, 'injected usage chunk leaked after a retry')
    text += ch.choices[0]?.delta?.content ?? ''
  }
  assert.equal(text, 'Hello from A.')
})

test('with nothing healthy left the client gets a 502 fast', async () => {
  const t0 = performance.now()
  await assert.rejects(chat('none'), (e: any) => e.status === 502 && e.error?.code === 'sy_upstream_connect')
  assert.ok(performance.now() - t0 < 1000)
})

const stream = async (xcase: string) => {
  const client = new OpenAI({ baseURL: base, apiKey: 'k', maxRetries: 0, defaultHeaders: { 'x-case': xcase } })
  const s = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] })
  let text = ''
  for await (const ch of s) text += ch.choices[0]?.delta?.content ?? ''
  return text
}

test('a stream that closes before any event, without its end marker, fails over invisibly', async () => {
  a.failNext('empty-stream')
  assert.equal(await stream('stall'), 'Hello from B.')
})

test('an upstream that never sends a first byte within first_token_timeout fails over', async () => {
  a.failNext('hang')
  const t0 = performance.now()
  assert.equal(await stream('stall'), 'Hello from B.')
  assert.ok(performance.now() - t0 < 2000)
})

test('a stream that closes cleanly mid-answer ends with an error event, never as a success', async () => {
  a.failNext('truncate')
  await assert.rejects(stream('stall'), (e: any) => /end marker/.test(e.message))
})

test('a stream that stalls past idle_timeout ends with an error event', async () => {
  a.failNext('stall')
  const t0 = performance.now()
  await assert.rejects(stream('stall'), (e: any) => /stalled/.test(e.message))
  assert.ok(performance.now() - t0 < 2000)
})

test('stream_recovery: continue splices a fallback continuation into one coherent client stream', async () => {
  a.failNext('cut-stream-now')
  const client = new OpenAI({ baseURL: base, apiKey: 'k', maxRetries: 0, defaultHeaders: { 'x-case': 'recover' } })
  const s = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'tell me' }] })
  const ids = new Set<string>()
  let text = ''
  let roles = 0
  let finish: string | null = null
  for await (const ch of s) {
    ids.add(ch.id)
    if (ch.choices[0]?.delta?.role) roles++
    text += ch.choices[0]?.delta?.content ?? ''
    finish = ch.choices[0]?.finish_reason ?? finish
  }
  assert.deepEqual([...ids], ['chatcmpl-cut'], 'one id across the splice')
  assert.equal(roles, 1, 'the continuation repeated the role delta')
  assert.equal(finish, 'stop')
  // A sent "partial " before the cut; B continued.
  assert.equal(text, 'partial Hello from B.')
  const cont = b.requests.at(-1)!.body
  assert.equal(cont.model, 'gpt-4o-backup')
  assert.deepEqual(cont.messages.slice(0, 2), [{ role: 'user', content: 'tell me' }, { role: 'assistant', content: 'partial ' }])
})
