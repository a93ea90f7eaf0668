/**
 * Issue 10, items 1, 2, 6, 12 and 15: requests a hostile caller can send. Before the fix one of
 * them (a `null` body to a translated route, a lone surrogate in `model` on gemini/azure/bedrock)
 * aborted the whole process; others steered the upstream path or made the gateway and the
 * provider read different models. Each now gets a 400 in the caller's protocol, naming the field,
 * and nothing reaches the upstream.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream.js'

let up: ScriptedUpstream
let gw: GatewayProcess
let port: number

/** Which cluster a chat request goes to: the `x-to` header picks it (default: openai). */
const PAIRS = ['openai', 'anthropic', 'gemini', 'bedrock', 'azure'] as const

before(async () => {
  up = await startScriptedUpstream()
  port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
${PAIRS.filter((p) => p !== 'openai').map((p) => `      - { match: { headers: [{ name: x-to, exact: ${p} }] }, cluster: ${p} }`).join('\n')}
      - { match: { path: { prefix: /v1/ } }, cluster: openai }
clusters:
  - { name: openai, provider: openai, endpoints: [{ url: "${up.url}/v1", api_key: key-openai-1234 }] }
  - { name: anthropic, provider: anthropic, endpoints: [{ url: "${up.url}/v1", api_key: key-anthropic-1234 }] }
  - { name: gemini, provider: gemini, endpoints: [{ url: "${up.url}", api_key: key-gemini-1234 }] }
  - name: bedrock
    provider: bedrock
    endpoints: [{ url: "${up.url}" }]
    bedrock: { region: us-east-1, access_key_id: AKIDEXAMPLE, secret_access_key: secret-aws-1234 }
  - name: azure
    provider: azure_openai
    endpoints: [{ url: "${up.url}", api_key: key-azure-1234 }]
    azure: { api_version: 2024-10-21 }
`, { workers: 2 })
})

after(async () => {
  await gw?.stop()
  await up?.close()
})

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  const text = await r.text()
  let json: any
  try { json = JSON.parse(text) } catch {}
  return { status: r.status, json, text }
}

/** The gateway process is still the one we started, and answers. */
async function assertAlive(): Promise<void> {
  assert.equal(gw.child.exitCode, null, `gateway exited:\n${gw.output()}`)
  assert.equal((await fetch(`${gw.admin}/ready`)).status, 200)
}

/** Bodies no translator can read, whichever front door they come through. */
const MALFORMED = [
  'null', '', 'just text', '[]', '5', '{"model":"m","messages":[null]}', '{"model":"m","messages":"x"}',
  '{"model":"m","messages":[{"role":"user","content":5}]}', '{"model":"m","messages":[{"role":"user","content":[null]}]}',
  '{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":null}]}]}',
  '{"model":"m","messages":[],"tools":"x"}', '{"model":"m","messages":[],"tools":[null]}',
  '{"model":"m","messages":[{"role":"assistant","tool_calls":[null]}]}', '{"model":5,"messages":[]}',
]
/** Malformed as Anthropic Messages requests (fine, or ignored keys, as OpenAI ones). */
const MALFORMED_ANTHROPIC = [
  '{"model":"m","messages":[],"tool_choice":"auto"}', '{"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_use"}]}]}',
  '{"model":"m","messages":[],"system":[null]}', '{"model":"m","messages":[],"metadata":{"user_id":5}}',
]

test('malformed bodies on every translated pair get a 400 in the caller protocol and the process survives', async () => {
  const before = up.requests.length
  for (const body of [...MALFORMED, ...MALFORMED_ANTHROPIC]) {
    // Anthropic front door → OpenAI, Gemini, Bedrock, Azure (translated).
    for (const to of PAIRS.filter((p) => p !== 'anthropic')) {
      const r = await post('/v1/messages', body, { 'x-to': to, ...(body === 'just text' && { 'content-type': 'text/plain' }) })
      assert.equal(r.status, 400, `anthropic → ${to} ${body}: ${r.text}`)
      assert.equal(r.json?.type, 'error', `anthropic error shape for ${body}: ${r.text}`)
      assert.equal(r.json.error.type, 'invalid_request_error')
    }
  }
  for (const body of MALFORMED) {
    // OpenAI front door → Anthropic, Gemini, Bedrock (translated).
    for (const to of ['anthropic', 'gemini', 'bedrock']) {
      const r = await post('/v1/chat/completions', body, { 'x-to': to })
      assert.equal(r.status, 400, `openai → ${to} ${body}: ${r.text}`)
      assert.equal(typeof r.json?.error?.message, 'string', `openai error shape for ${body}: ${r.text}`)
    }
  }
  assert.equal(up.requests.length, before, `malformed requests reached an upstream: ${up.requests.slice(before).map((r) => r.body).join('\n')}`)
  await assertAlive()
})

test('the error names the offending field, and the official SDKs raise BadRequestError', async () => {
  const anthropic = new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: 'caller', maxRetries: 0, defaultHeaders: { 'x-to': 'openai' } })
  await assert.rejects(
    anthropic.messages.create({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 5 as any }] }),
    (e: any) => e instanceof Anthropic.BadRequestError && /messages\[0\]\.content must be a string or an array of content blocks/.test(e.message),
  )
  const openai = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'caller', maxRetries: 0, defaultHeaders: { 'x-to': 'gemini' } })
  await assert.rejects(
    openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [null as any] }),
    (e: any) => e instanceof OpenAI.BadRequestError && e.param === 'tools[0]' && /tools\[0\] must be a tool object/.test(e.message),
  )
  await assertAlive()
})

test('a lone surrogate or a dot segment as the model is a 400 on gemini, azure and bedrock', async () => {
  const before = up.requests.length
  for (const to of ['gemini', 'azure', 'bedrock']) {
    for (const model of ['\\ud800', '..', '.']) {
      const r = await post('/v1/chat/completions', `{"model":"${model}","messages":[{"role":"user","content":"hi"}]}`, { 'x-to': to })
      assert.equal(r.status, 400, `${to} model ${model}: ${r.text}`)
      assert.match(r.json.error.message, /^model /)
    }
  }
  assert.equal(up.requests.length, before)
  await assertAlive()
})

function rawPost(path: string, body: string): Promise<{ status: number; body: string }> {
  // node:http sends the path as given: no client-side dot-segment normalisation.
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json' } }, (res) => {
      let b = ''
      res.on('data', (d) => (b += d))
      res.on('end', () => resolve({ status: res.statusCode!, body: b }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

test('dot segments in the request path are refused before a prefix route forwards them', async () => {
  const before = up.requests.length
  for (const path of ['/v1/../../admin', '/v1/./chat/completions', '/v1/%2e%2e/%2E%2E/admin', '/v1/..%2f..%2fadmin', '/v1/chat\\..\\admin', '/v1/%zz']) {
    const r = await rawPost(path, '{"model":"m","messages":[]}')
    assert.equal(r.status, 400, `${path}: ${r.body}`)
  }
  assert.equal(up.requests.length, before, `forwarded: ${up.requests.slice(before).map((r) => r.url).join(', ')}`)
})

test("a client cannot add a second api-version to Azure's URL", async () => {
  const r = await post('/v1/chat/completions?api-version=evil&x=1', '{"model":"gpt","messages":[{"role":"user","content":"hi"}]}', { 'x-to': 'azure' })
  assert.equal(r.status, 200, r.text)
  const seen = up.requests.at(-1)!
  assert.equal(seen.url, '/openai/deployments/gpt/chat/completions?api-version=2024-10-21&x=1')
})

test('azure_openai without a model is a 400, not a 404', async () => {
  const r = await post('/v1/chat/completions', '{"messages":[{"role":"user","content":"hi"}]}', { 'x-to': 'azure' })
  assert.equal(r.status, 400, r.text)
  assert.equal(r.json.error.type, 'invalid_request_error')
})

test('a top-level model or stream given twice is refused: the gateway and the provider must read one request', async () => {
  const before = up.requests.length
  for (const body of [
    '{"model":"cheap","messages":[],"model":"expensive"}',
    '{"model":"cheap","mod\\u0065l":"expensive","messages":[]}',
    '{"stream":false,"model":"m","messages":[],"stream":true}',
  ]) {
    const r = await post('/v1/chat/completions', body)
    assert.equal(r.status, 400, `${body}: ${r.text}`)
    assert.match(r.json.error.message, /more than one top-level '(model|stream)' key/)
  }
  // The same key nested, or in message text, is ordinary.
  const ok = await post('/v1/chat/completions', '{"model":"m","messages":[{"role":"user","content":"\\"model\\": \\"x\\" and \\"model\\""}],"metadata":{"model":"a"}}')
  assert.equal(ok.status, 200, ok.text)
  assert.equal(up.requests.length, before + 1)
})
