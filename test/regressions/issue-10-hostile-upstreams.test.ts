/**
 * Issue 10, items 5, 7, 10 and 11: what a hostile or broken upstream can make reach a client.
 * An error body or header echoing the credential the gateway sent is scrubbed on every route kind
 * (pass-through, translated, streamed); only allow-listed response headers pass; client errors
 * name the cluster, never an internal URL or a library error code; translated and error bodies
 * are buffered only up to a cap, beyond which the client gets a clear 502.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { openAICompletion, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream.js'

const KEYS = { openai: 'sk-proj-alpha-1111', anthropic: 'ant-key-beta-2222', gemini: 'gem-key-gamma-3333', token: 'tok-internal-9999' }
const SECRETS = Object.values(KEYS)

let up: ScriptedUpstream
let gw: GatewayProcess
let port: number
let closedPort: number

before(async () => {
  up = await startScriptedUpstream()
  port = await freePort()
  closedPort = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [internal-token] }]
routes:
  - name: main
    rules:
      - { match: { headers: [{ name: x-to, exact: anthropic }] }, cluster: anthropic }
      - { match: { headers: [{ name: x-to, exact: gemini }] }, cluster: gemini }
      - { match: { headers: [{ name: x-to, exact: extra }] }, cluster: extra }
      - { match: { headers: [{ name: x-to, exact: down }] }, cluster: down }
      - { cluster: openai }
clusters:
  - { name: openai, provider: openai, endpoints: [{ url: "${up.url}/v1", api_key: "\${env:T_OPENAI_KEY}" }] }
  - { name: anthropic, provider: anthropic, endpoints: [{ url: "${up.url}/v1", api_key: ${KEYS.anthropic} }] }
  - { name: gemini, provider: gemini, endpoints: [{ url: "${up.url}", api_key: ${KEYS.gemini} }] }
  - { name: extra, provider: openai, endpoints: [{ url: "${up.url}/v1", api_key: k-extra }], forward_response_headers: ["x-vllm-*"] }
  - { name: down, provider: openai, endpoints: [{ url: "http://127.0.0.1:${closedPort}/v1", api_key: k-down }] }
filters:
  - name: internal-token
    type: headers
    config:
      request:
        set: [{ name: x-internal-token, value: ${KEYS.token} }]
`, { env: { T_OPENAI_KEY: KEYS.openai } })
})

after(async () => {
  await gw?.stop()
  await up?.close()
})

interface Answer { status: number; headers: Headers; text: string }

async function call(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  return { status: r.status, headers: r.headers, text: await r.text() }
}

function assertClean(what: string, a: Answer): void {
  const all = a.text + '\n' + [...a.headers].map(([k, v]) => `${k}: ${v}`).join('\n')
  for (const s of SECRETS) assert.ok(!all.includes(s), `${what} leaks ${s}:\n${all}`)
}

const chat = (stream = false) => ({ model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] })

test('an upstream 401 that echoes the credential it received is scrubbed on every route kind', async () => {
  up.answer = (req, res) => {
    const sent = [req.headers.authorization, req.headers['x-api-key'], req.headers['x-goog-api-key'], req.headers['x-internal-token']].filter(Boolean).join(' ')
    const message = `Incorrect API key provided: ${sent}`
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': `Bearer realm="api" error="${sent}"` })
    res.end(req.url!.includes('generateContent')
      ? JSON.stringify({ error: { code: 401, message, status: 'UNAUTHENTICATED' } })
      : req.url!.endsWith('/messages') ? JSON.stringify({ type: 'error', error: { type: 'authentication_error', message } })
      : JSON.stringify({ error: { message, type: 'invalid_request_error', code: 'invalid_api_key' } }))
  }
  const cases: [string, string, unknown, Record<string, string>][] = [
    ['openai pass-through', '/v1/chat/completions', chat(), {}],
    ['openai pass-through, streamed', '/v1/chat/completions', chat(true), {}],
    ['openai → anthropic', '/v1/chat/completions', chat(), { 'x-to': 'anthropic' }],
    ['openai → anthropic, streamed', '/v1/chat/completions', chat(true), { 'x-to': 'anthropic' }],
    ['openai → gemini', '/v1/chat/completions', chat(), { 'x-to': 'gemini' }],
    ['anthropic → openai', '/v1/messages', { ...chat(), max_tokens: 5 }, {}],
    ['anthropic pass-through', '/v1/messages', { ...chat(), max_tokens: 5 }, { 'x-to': 'anthropic' }],
  ]
  for (const [what, path, body, headers] of cases) {
    const a = await call(path, body, headers)
    assert.equal(a.status, 401, `${what}: ${a.text}`)
    assert.match(a.text, /Incorrect API key provided/, `${what} still says what went wrong`)
    assertClean(what, a)
  }
})

test('only allow-listed upstream response headers reach the client (plus forward_response_headers)', async () => {
  up.answer = (_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json', 'set-cookie': 'session=abc; HttpOnly', 'access-control-allow-origin': '*',
      'x-internal-debug': 'pod=llm-7', 'x-request-id': 'req-42', 'x-ratelimit-remaining-requests': '99', 'x-vllm-queue': '3', server: 'internal-proxy',
    })
    res.end(openAICompletion())
  }
  const a = await call('/v1/chat/completions', chat())
  assert.equal(a.status, 200, a.text)
  assert.equal(a.headers.get('x-upstream-request-id'), 'req-42') // x-request-id is the gateway's (the caller's own when sane)
  assert.equal(a.headers.get('x-ratelimit-remaining-requests'), '99')
  for (const h of ['set-cookie', 'access-control-allow-origin', 'x-internal-debug', 'x-vllm-queue']) assert.equal(a.headers.get(h), null, `${h} passed through`)
  assert.notEqual(a.headers.get('server'), 'internal-proxy')
  const extra = await call('/v1/chat/completions', chat(), { 'x-to': 'extra' })
  assert.equal(extra.headers.get('x-vllm-queue'), '3')
  assert.equal(extra.headers.get('set-cookie'), null)
})

test('client errors name the cluster, never an internal URL or an undici error code', async () => {
  const down = await call('/v1/chat/completions', chat(), { 'x-to': 'down' })
  assert.equal(down.status, 502)
  assert.match(down.text, /cluster 'down' failed: connection refused/)
  assert.doesNotMatch(down.text, /127\.0\.0\.1|http:\/\/|UND_ERR|ECONN/)
  up.answer = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-huge': 'x'.repeat(80 * 1024) })
    res.end(openAICompletion())
  }
  const overflow = await call('/v1/chat/completions', chat())
  assert.equal(overflow.status, 502, overflow.text)
  assert.match(overflow.text, /response headers too large/)
  assert.doesNotMatch(overflow.text, /127\.0\.0\.1|UND_ERR/)
})

test('translated and error bodies are buffered only up to a cap: beyond it a 502, and the process survives', async () => {
  up.answer = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'a'.repeat(20 * 1024 * 1024) }] }, finishReason: 'STOP' }] }))
  }
  const big = await call('/v1/chat/completions', chat(), { 'x-to': 'gemini' })
  assert.equal(big.status, 502)
  assert.match(big.text, /exceeds \d+ bytes/)
  up.answer = (_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: { message: 'e'.repeat(2 * 1024 * 1024) } }))
  }
  for (const headers of [{}, { 'x-to': 'anthropic' }] as Record<string, string>[]) {
    const err = await call('/v1/chat/completions', chat(), headers)
    assert.equal(err.status, 502, err.text.slice(0, 200))
    assert.match(err.text, /exceeds \d+ bytes/)
  }
  assert.equal(gw.child.exitCode, null)
  assert.equal((await fetch(`${gw.admin}/ready`)).status, 200)
})
