/**
 * The gateway as a real process, called with the official `openai` client, in front of a local
 * OpenAI-format upstream.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let up: Upstream
let gw: GatewayProcess
let base: string
let client: OpenAI

before(async () => {
  up = await startOpenAIUpstream('upstream-a')
  const port = await freePort()
  const deadPort = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main, max_body: 2kb }
routes:
  - name: main
    rules:
      - name: dead
        match: { model: { exact: to-dead } }
        cluster: dead
      - name: slow
        match: { model: { exact: hang } }
        cluster: up
        timeout: 300ms
      - name: rewrite
        match: { model: { exact: alias-model } }
        cluster: up
        model_rewrite: real-model
      - name: chat
        match: { path: { exact: /v1/chat/completions }, methods: [POST] }
        cluster: up
clusters:
  - name: up
    provider: openai
    endpoints: [{ url: "${up.url}", api_key: "\${env:SY_TEST_UPSTREAM_KEY}" }]
  - name: dead
    provider: openai
    connect_timeout: 1s
    endpoints: [{ url: "http://127.0.0.1:${deadPort}/v1" }]
`, { env: { SY_TEST_UPSTREAM_KEY: 'sk-upstream-secret-123' } })
  base = `http://127.0.0.1:${port}/v1`
  client = new OpenAI({ baseURL: base, apiKey: 'sk-client-key', maxRetries: 0 })
})

after(async () => {
  const code = await gw?.stop()
  await up?.close()
  assert.equal(code, 0, `gateway exit code; output:\n${gw?.output()}`)
})

describe('openai SDK through the gateway', () => {
  test('a non-streaming completion comes back intact, with the endpoint credential upstream', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
    assert.equal(r.choices[0].message.content, 'Hello from upstream-a.')
    assert.deepEqual(r.usage, { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 })
    const seen = up.requests.at(-1)!
    assert.equal(seen.url, '/v1/chat/completions')
    assert.equal(seen.headers.authorization, 'Bearer sk-upstream-secret-123')
    assert.equal(seen.body.model, 'gpt-4o')
  })

  test('a streaming completion arrives chunk by chunk as the upstream sends it', async () => {
    const stream = await client.chat.completions.create({ model: 'slow-stream', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    const arrivals: number[] = []
    let text = ''
    let finish: string | null = null
    for await (const chunk of stream) {
      arrivals.push(performance.now())
      text += chunk.choices[0]?.delta?.content ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    assert.equal(text, 'Hello from upstream-a')
    assert.equal(finish, 'stop')
    // The upstream spaces its 5 content chunks 100 ms apart; buffering would bunch them together.
    const spread = arrivals[4] - arrivals[0]
    assert.ok(spread >= 300, `first to fifth chunk took ${spread.toFixed(0)} ms; chunks were buffered`)
    const gaps = arrivals.slice(1, 5).map((t, i) => t - arrivals[i])
    assert.ok(gaps.every((g) => g >= 50), `gaps between chunks: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`)
  })

  test('the route model_rewrite replaces the model sent upstream', async () => {
    await client.chat.completions.create({ model: 'alias-model', messages: [{ role: 'user', content: 'hi' }] })
    assert.equal(up.requests.at(-1)!.body.model, 'real-model')
  })

  test('a client that disconnects mid-stream aborts the upstream request', async () => {
    const before = up.requests.length
    const ctrl = new AbortController()
    const stream = await client.chat.completions.create({ model: 'slow-stream', stream: true, messages: [{ role: 'user', content: 'abort me' }] }, { signal: ctrl.signal })
    for await (const _chunk of stream) {
      ctrl.abort()
      break
    }
    await eventually(() => up.requests.length > before && up.requests[before].aborted, undefined, 'the upstream to see the abort')
  })

  test('an upstream stream cut mid-answer ends the client stream with an error event, not a hang', async () => {
    const stream = await client.chat.completions.create({ model: 'cut-stream', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    let text = ''
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
      })(),
      (e: any) => {
        assert.match(e.message, /cluster 'up' failed: connection reset/)
        return true
      },
    )
    assert.equal(text, 'Hello ')
  })

  test('an unknown path gets 404 as OpenAI error JSON', async () => {
    await assert.rejects(client.embeddings.create({ model: 'x', input: 'y' }), (e: any) => {
      assert.equal(e.status, 404)
      assert.equal(e.error?.type, 'invalid_request_error')
      assert.match(e.message, /no route for POST \/v1\/embeddings/)
      return true
    })
  })
})

describe('error answers in OpenAI format', () => {
  const post = (body: string | object, headers: Record<string, string> = {}) =>
    fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })

  test('a body over max_body gets 413', async () => {
    const r = await post({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(4096) }] })
    assert.equal(r.status, 413)
    const j = await r.json()
    assert.equal(j.error.code, 'sy_body_too_large')
  })

  test('invalid JSON gets 400', async () => {
    const r = await post('{"model": "gpt-4o", ')
    assert.equal(r.status, 400)
    const j = await r.json()
    assert.equal(j.error.type, 'invalid_request_error')
    assert.match(j.error.message, /not valid JSON/)
  })

  test('an unreachable upstream gets 502 without leaking credentials', async () => {
    const r = await post({ model: 'to-dead', messages: [] })
    assert.equal(r.status, 502)
    const text = await r.text()
    assert.match(JSON.parse(text).error.message, /connection refused/)
    assert.doesNotMatch(text, /sk-upstream-secret-123/)
  })

  test('an upstream that resets the connection gets 502', async () => {
    const r = await post({ model: 'reset', messages: [] })
    assert.equal(r.status, 502)
    assert.equal((await r.json()).error.code, 'sy_upstream_connect')
  })

  test('an upstream slower than the route timeout gets 504', async () => {
    const t0 = performance.now()
    const r = await post({ model: 'hang', messages: [] })
    assert.equal(r.status, 504)
    assert.equal((await r.json()).error.type, 'timeout_error')
    assert.ok(performance.now() - t0 < 2000)
  })

  test('an upstream 500 is passed through with its OpenAI error body', async () => {
    const r = await post({ model: 'error-500', messages: [] })
    assert.equal(r.status, 500)
    assert.equal((await r.json()).error.type, 'server_error')
  })

  test('the admin API reports the native uWS build and never the secret', async () => {
    const rt = await (await fetch(`${gw.admin}/runtime`)).json()
    assert.equal(rt.uws, 'native', 'uWebSockets.js fell back to its JS implementation')
    assert.ok(rt.workers.every((w: any) => w.uws === 'native'))
    const cfg = await (await fetch(`${gw.admin}/config`)).text()
    assert.doesNotMatch(cfg, /sk-upstream-secret-123/)
    assert.match(cfg, /\$\{env:SY_TEST_UPSTREAM_KEY\}/)
    assert.doesNotMatch(gw.output(), /sk-upstream-secret-123/)
  })
})
