/**
 * `pool.protocol: http2` through the real gateway process against a node:http2 upstream (h2c):
 * concurrent requests multiplexed as streams on few connections, streaming through the official
 * `openai` client, the abort when the client leaves, the route timeout, and HTTP/2 failures
 * classified like HTTP/1.1's (GOAWAY and REFUSED_STREAM → connect_failure, RST_STREAM → reset).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startH2Upstream, type H2Upstream } from '../support/h2-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

const REPLY = 'Hello over HTTP/2, multiplexed ✓'
let up: H2Upstream
let gw: GatewayProcess
let base: string
let openai: OpenAI

before(async () => {
  up = await startH2Upstream({ reply: REPLY, chunks: 4, delayMs: 20 })
  const port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - match: { headers: [{ name: x-retry, exact: connect }] }
        cluster: h2
        retry_policy: { retry_on: [connect_failure], num_retries: 1, base_interval: 5ms }
      - match: { headers: [{ name: x-retry, exact: reset }] }
        cluster: h2
        retry_policy: { retry_on: [reset], num_retries: 1, base_interval: 5ms }
      - match: { model: { exact: hang } }
        cluster: h2
        timeout: 300ms
      - cluster: h2
clusters:
  - name: h2
    provider: openai
    endpoints: [{ url: "${up.url}" }]
    pool: { protocol: http2, connections: 2, max_concurrent_streams: 100 }
`, { workers: 1 })
  base = `http://127.0.0.1:${port}`
  openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 })
})

after(async () => {
  const code = await gw?.stop()
  await up?.close()
  assert.equal(code, 0, gw?.output())
})

const chat = (model: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }] }) })

test('150 concurrent streams share at most 2 connections (HTTP/2 multiplexing)', async () => {
  up.resetCounters()
  const texts = await Promise.all(Array.from({ length: 150 }, async () => {
    const s = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true })
    let t = ''
    for await (const c of s) t += c.choices[0]?.delta?.content ?? ''
    return t
  }))
  assert.ok(texts.every((t) => t === REPLY), texts.find((t) => t !== REPLY))
  assert.equal(up.streams(), 150)
  assert.ok(up.sessions() <= 2, `sessions: ${up.sessions()}`)
  assert.ok(up.maxConcurrent() > 10, `at most ${up.maxConcurrent()} streams at once on one connection`)
})

test('a non-streamed answer and its usage come back over HTTP/2', async () => {
  const r = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })
  assert.equal(r.choices[0].message.content, REPLY)
  assert.equal(r.usage?.total_tokens, 5)
})

test('a client that leaves mid-stream resets its upstream stream', async () => {
  up.resetCounters()
  const ac = new AbortController()
  const s = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true }, { signal: ac.signal })
  for await (const _ of s) {
    ac.abort()
    break
  }
  await eventually(() => up.aborted() === 1, undefined, 'the upstream stream to be reset')
})

test('the route timeout ends a hanging stream with 504', async () => {
  const t0 = Date.now()
  const r = await chat('hang')
  assert.equal(r.status, 504)
  assert.ok(Date.now() - t0 < 3000)
})

test('GOAWAY is a connect failure: refused without a retry, resent with retry_on connect_failure', async () => {
  up.failNext('goaway')
  const r = await chat('m')
  assert.equal(r.status, 502)
  assert.match((await r.json() as any).error.message, /GOAWAY/)
  up.failNext('goaway')
  const ok = await chat('m', { 'x-retry': 'connect' })
  assert.equal(ok.status, 200, await ok.clone().text())
})

test('REFUSED_STREAM is a connect failure; another RST_STREAM is a reset', async () => {
  up.failNext('refuse')
  assert.equal((await chat('m', { 'x-retry': 'connect' })).status, 200)
  up.failNext('rst')
  const r = await chat('m', { 'x-retry': 'connect' })
  assert.equal(r.status, 502)
  assert.match((await r.json() as any).error.message, /RST_STREAM/)
  up.failNext('rst')
  assert.equal((await chat('m', { 'x-retry': 'reset' })).status, 200)
})
