/**
 * Issue 12, item 3: who served an answer. Every proxied response names the cluster and the
 * endpoint (by its configured name, default its index — never its URL), and the attempts where
 * the route retries or fails over; a listener with `routing_headers: false` says none of it. The
 * request id is the caller's sane x-request-id or a generated one: the upstream sees it, the
 * client gets it back (on errors too) and the access log carries it; an upstream's own request
 * id comes back as x-upstream-request-id.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { anthropicMessage, openAICompletion, startScriptedUpstream, type ScriptedUpstream, type SeenRequest } from '../support/scripted-upstream.js'

let a: ScriptedUpstream
let b: ScriptedUpstream
let gw: GatewayProcess
let api: string
let quiet: string
/** Requests to `a` that answer 500 before it answers normally again. */
let aFailures = 0

const ROUTING = ['x-switchyard-cluster', 'x-switchyard-endpoint', 'x-switchyard-attempts']

function answerAs(name: string, extra: () => Record<string, string> = () => ({})) {
  return (req: SeenRequest, res: import('node:http').ServerResponse) => {
    if (name === 'A' && aFailures > 0) {
      aFailures--
      res.writeHead(500, { 'content-type': 'application/json' })
      return void res.end(JSON.stringify({ error: { message: 'boom', type: 'server_error' } }))
    }
    res.writeHead(200, { 'content-type': 'application/json', ...extra() })
    res.end(req.url.endsWith('/messages') ? anthropicMessage(name) : openAICompletion(name))
  }
}
let aHeaders: Record<string, string> = {}

before(async () => {
  a = await startScriptedUpstream()
  b = await startScriptedUpstream()
  a.answer = answerAs('A', () => aHeaders)
  b.answer = answerAs('B')
  const port = await freePort()
  const quietPort = await freePort()
  const deadPort = await freePort()
  api = `http://127.0.0.1:${port}`
  quiet = `http://127.0.0.1:${quietPort}`
  const chat = (c: string) => `{ path: { exact: /v1/chat/completions }, headers: [{ name: x-case, exact: ${c} }] }`
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
  - { name: quiet, address: 127.0.0.1, port: ${quietPort}, route_table: main, routing_headers: false, max_body: 64kb }
routes:
  - name: main
    rules:
      - { match: ${chat('two')}, cluster: two }
      - { match: ${chat('retry')}, cluster: named, retry_policy: { retry_on: [5xx], num_retries: 1, base_interval: 1ms, max_interval: 2ms } }
      - { match: ${chat('fallback')}, fallback: { clusters: [{ cluster: dead }, { cluster: named }] } }
      - { match: ${chat('dead')}, cluster: dead }
      - { match: ${chat('to-anthropic')}, cluster: anthropic }
      - match: ${chat('ab')}
        weighted_clusters:
          hash_on: { header: x-user-id }
          clusters: [{ name: variant-a, weight: 50 }, { name: variant-b, weight: 50 }]
      - { match: { path: { exact: /v1/chat/completions } }, cluster: named }
      - { match: { path: { exact: /v1/messages } }, cluster: named }
clusters:
  - { name: named, provider: openai, endpoints: [{ url: "${a.url}/v1", name: us-east-1a, api_key: k }] }
  - { name: two, provider: openai, lb: round_robin, endpoints: [{ url: "${a.url}/v1", api_key: k }, { url: "${b.url}/v1", api_key: k }] }
  - { name: variant-a, provider: openai, endpoints: [{ url: "${a.url}/v1", api_key: k }] }
  - { name: variant-b, provider: openai, endpoints: [{ url: "${b.url}/v1", api_key: k }] }
  - { name: anthropic, provider: anthropic, endpoints: [{ url: "${a.url}/v1", api_key: k }] }
  - { name: dead, provider: openai, connect_timeout: 500ms, endpoints: [{ url: "http://127.0.0.1:${deadPort}/v1", api_key: k }] }
`, { env: { SWITCHYARD_ACCESS_LOG: '1' } })
})

after(async () => {
  await gw?.stop()
  await a?.close()
  await b?.close()
})

interface Answer { status: number; headers: Headers; text: string }

async function post(base: string, headers: Record<string, string> = {}, body: unknown = { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, path = '/v1/chat/completions'): Promise<Answer> {
  const r = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  return { status: r.status, headers: r.headers, text: await r.text() }
}
const routingOf = (h: Headers) => Object.fromEntries(ROUTING.map((n) => [n, h.get(n)]))
const textOf = (a: Answer) => JSON.parse(a.text).choices[0].message.content as string
const GENERATED = /^[\x21-\x7e]{1,128}$/

test('every proxied answer names its cluster and endpoint (the endpoint\'s name, default its index), never a URL', async () => {
  const named = await post(api)
  assert.equal(named.status, 200, named.text)
  assert.deepEqual(routingOf(named.headers), { 'x-switchyard-cluster': 'named', 'x-switchyard-endpoint': 'us-east-1a', 'x-switchyard-attempts': null })

  // Round robin over two unnamed endpoints: each answer names the one that served it.
  const served = new Map<string, string>()
  for (let i = 0; i < 4; i++) {
    const r = await post(api, { 'x-case': 'two' })
    assert.equal(r.headers.get('x-switchyard-cluster'), 'two')
    served.set(r.headers.get('x-switchyard-endpoint')!, textOf(r))
  }
  assert.deepEqual(Object.fromEntries(served), { 0: 'A', 1: 'B' })

  // Translated both ways, through the official SDKs.
  const anthropic = new Anthropic({ baseURL: api, apiKey: 'caller', maxRetries: 0 })
  const viaMessages = await anthropic.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).withResponse()
  assert.deepEqual(routingOf(viaMessages.response.headers), { 'x-switchyard-cluster': 'named', 'x-switchyard-endpoint': 'us-east-1a', 'x-switchyard-attempts': null })
  const openai = new OpenAI({ baseURL: `${api}/v1`, apiKey: 'caller', maxRetries: 0 })
  const toAnthropic = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-case': 'to-anthropic' } }).withResponse()
  assert.equal(toAnthropic.data.choices[0].message.content, 'A')
  assert.deepEqual(routingOf(toAnthropic.response.headers), { 'x-switchyard-cluster': 'anthropic', 'x-switchyard-endpoint': '0', 'x-switchyard-attempts': null })

  // Streams too.
  const streamed = await post(api, {}, { model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] })
  assert.equal(streamed.headers.get('x-switchyard-cluster'), 'named')

  for (const r of [named, streamed]) {
    const all = [...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')
    assert.doesNotMatch(all, new RegExp(`127\\.0\\.0\\.1|${a.port}|${b.port}`), all)
  }
})

test('x-switchyard-attempts appears only where the route retries or fails over, and counts the attempts', async () => {
  aFailures = 1
  const retried = await post(api, { 'x-case': 'retry' })
  assert.equal(retried.status, 200, retried.text)
  assert.deepEqual(routingOf(retried.headers), { 'x-switchyard-cluster': 'named', 'x-switchyard-endpoint': 'us-east-1a', 'x-switchyard-attempts': '2' })
  const first = await post(api, { 'x-case': 'retry' })
  assert.equal(first.headers.get('x-switchyard-attempts'), '1')
  const failedOver = await post(api, { 'x-case': 'fallback' })
  assert.equal(failedOver.status, 200, failedOver.text)
  assert.deepEqual(routingOf(failedOver.headers), { 'x-switchyard-cluster': 'named', 'x-switchyard-endpoint': 'us-east-1a', 'x-switchyard-attempts': '2' })
  assert.equal((await post(api)).headers.get('x-switchyard-attempts'), null, 'a plain route has no attempts header')
})

test('a listener with routing_headers: false sends none of them, but still the request id', async () => {
  for (const c of ['plain', 'retry', 'fallback', 'ab', 'two']) {
    if (c === 'retry') aFailures = 1
    const r = await post(quiet, { 'x-case': c, 'x-user-id': 'u1', 'x-request-id': `quiet-${c}` })
    assert.equal(r.status, 200, `${c}: ${r.text}`)
    assert.deepEqual(routingOf(r.headers), { 'x-switchyard-cluster': null, 'x-switchyard-endpoint': null, 'x-switchyard-attempts': null }, c)
    assert.equal(r.headers.get('x-request-id'), `quiet-${c}`)
  }
})

test('the caller\'s x-request-id (up to 128 visible ASCII characters) is kept, sent upstream and returned', async () => {
  const openai = new OpenAI({ baseURL: `${api}/v1`, apiKey: 'caller', maxRetries: 0 })
  const mine = 'trace-2f9c/01:a=b'
  const completion = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': mine } })
  assert.equal(completion._request_id, mine)
  assert.equal(a.requests.at(-1)!.headers['x-request-id'], mine)

  const longest = 'r'.repeat(128)
  const kept = await post(api, { 'x-request-id': longest })
  assert.equal(kept.headers.get('x-request-id'), longest)
  assert.equal(a.requests.at(-1)!.headers['x-request-id'], longest)

  // Translated requests carry it too (Anthropic front door → OpenAI upstream, and the reverse).
  const anthropic = new Anthropic({ baseURL: api, apiKey: 'caller', maxRetries: 0 })
  const msg = await anthropic.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': 'msg-trace-9' } }).withResponse()
  assert.equal(msg.response.headers.get('x-request-id'), 'msg-trace-9')
  assert.equal(a.requests.at(-1)!.headers['x-request-id'], 'msg-trace-9')
  const rev = await post(api, { 'x-case': 'to-anthropic', 'x-request-id': 'rev-trace-3' })
  assert.equal(rev.headers.get('x-request-id'), 'rev-trace-3')
  assert.equal(a.requests.at(-1)!.url, '/v1/messages')
  assert.equal(a.requests.at(-1)!.headers['x-request-id'], 'rev-trace-3')
})

test('a missing or insane x-request-id is replaced by a generated one, which the upstream sees too', async () => {
  const ids = new Set<string>()
  const given: (string | undefined)[] = [undefined, undefined, 'x'.repeat(129), 'y'.repeat(200), 'has a space', 'caf\u00e9-01']
  for (const id of given) {
    for (const [headers, path] of [[{}, '/v1/chat/completions'], [{ 'x-case': 'to-anthropic' }, '/v1/chat/completions']] as const) {
      const r = await post(api, { ...headers, ...(id !== undefined && { 'x-request-id': id }) }, undefined, path)
      assert.equal(r.status, 200, r.text)
      const returned = r.headers.get('x-request-id')!
      assert.match(returned, GENERATED, `for ${JSON.stringify(id)}`)
      assert.notEqual(returned, id)
      assert.equal(a.requests.at(-1)!.headers['x-request-id'], returned, `the upstream saw the generated id (for ${JSON.stringify(id)}, ${headers['x-case'] ?? 'pass-through'})`)
      ids.add(returned)
    }
  }
  assert.equal(ids.size, given.length * 2, 'every request gets its own id')
})

test('the request id comes back on errors too: no route (404), bad JSON (400), upstream down (502)', async () => {
  const cases: [string, Record<string, string>, unknown, string, number][] = [
    ['no route', {}, { model: 'm' }, '/v1/nothing-here', 404],
    ['bad JSON', {}, '{"model": "m", "messages": [', '/v1/chat/completions', 400],
    ['upstream down', { 'x-case': 'dead' }, undefined, '/v1/chat/completions', 502],
  ]
  for (const [what, headers, body, path, status] of cases) {
    const mine = await post(api, { ...headers, 'x-request-id': `err-${status}` }, body, path)
    assert.equal(mine.status, status, `${what}: ${mine.text}`)
    assert.equal(mine.headers.get('x-request-id'), `err-${status}`, what)
    assert.equal(JSON.parse(mine.text).error !== undefined, true, `${what}: OpenAI error JSON`)
    const generated = await post(api, headers, body, path)
    assert.equal(generated.status, status, what)
    assert.match(generated.headers.get('x-request-id') ?? '', GENERATED, what)
  }
  const openai = new OpenAI({ baseURL: `${api}/v1`, apiKey: 'caller', maxRetries: 0 })
  await assert.rejects(openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-case': 'dead', 'x-request-id': 'sdk-err-1' } }), (e: any) => {
    assert.ok(e instanceof OpenAI.InternalServerError, String(e))
    assert.equal(e.requestID, 'sdk-err-1')
    return true
  })
})

test('the request id comes back on a refused request too: a body over max_body (413)', async () => {
  const big = { model: 'm', messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] }
  const mine = await post(quiet, { 'x-request-id': 'too-big-1' }, big)
  assert.equal(mine.status, 413, mine.text)
  assert.equal(mine.headers.get('x-request-id'), 'too-big-1')
  const generated = await post(quiet, {}, big)
  assert.equal(generated.status, 413)
  assert.match(generated.headers.get('x-request-id') ?? '', GENERATED)
})

test('an upstream\'s own x-request-id comes back as x-upstream-request-id', async () => {
  aHeaders = { 'x-request-id': 'upstream-req-42' }
  try {
    const r = await post(api, { 'x-request-id': 'mine-1' })
    assert.equal(r.headers.get('x-request-id'), 'mine-1')
    assert.equal(r.headers.get('x-upstream-request-id'), 'upstream-req-42')
    const generated = await post(api)
    assert.match(generated.headers.get('x-request-id')!, GENERATED)
    assert.notEqual(generated.headers.get('x-request-id'), 'upstream-req-42')
    assert.equal(generated.headers.get('x-upstream-request-id'), 'upstream-req-42')
  } finally {
    aHeaders = {}
  }
})

test('an A/B split hashed on x-user-id keeps each user on one variant, and the header names it', async () => {
  const variantOf = new Map<string, string>()
  for (let u = 0; u < 16; u++) {
    for (let i = 0; i < 3; i++) {
      const r = await post(api, { 'x-case': 'ab', 'x-user-id': `user-${u}` })
      assert.equal(r.status, 200, r.text)
      const cluster = r.headers.get('x-switchyard-cluster')!
      assert.ok(cluster === 'variant-a' || cluster === 'variant-b', cluster)
      assert.equal(textOf(r), cluster === 'variant-a' ? 'A' : 'B', 'the header names the variant that answered')
      assert.equal(r.headers.get('x-switchyard-attempts'), null)
      if (i === 0) variantOf.set(`user-${u}`, cluster)
      else assert.equal(cluster, variantOf.get(`user-${u}`), `user-${u} stays on one variant`)
    }
  }
  assert.deepEqual(new Set(variantOf.values()), new Set(['variant-a', 'variant-b']), 'both variants serve someone')
})

test('the access log line carries request_id=<id>, given or generated', async () => {
  await post(api, { 'x-request-id': 'log-trace-77' })
  const generated = (await post(api)).headers.get('x-request-id')!
  await eventually(() => /\baccess\b.*request_id=log-trace-77\b/.test(gw.output()), undefined, 'the access log line for log-trace-77')
  await eventually(() => gw.output().includes(`request_id=${generated}`), undefined, 'the access log line for the generated id')
})
