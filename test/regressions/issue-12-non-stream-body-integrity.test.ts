/**
 * Issue 12, item 1: a non-streamed 2xx answer whose body is not a complete JSON document of the
 * operation's success shape is an upstream failure like a reset — failed over before anything
 * reaches the client, else a 502 in the caller's protocol — never passed on as a success. Each
 * breakage is tried on three paths (OpenAI SDK → openai cluster; Anthropic SDK → anthropic
 * cluster, passed through; Anthropic SDK → openai cluster, translated), with and without a
 * fallback cluster that answers properly.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { anthropicMessage, openAICompletion, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream.js'

let bad: ScriptedUpstream
let good: ScriptedUpstream
let gw: GatewayProcess
let base: string

before(async () => {
  bad = await startScriptedUpstream()
  good = await startScriptedUpstream()
  good.answer = (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(req.url.endsWith('/messages') ? anthropicMessage('from-good') : openAICompletion('from-good'))
  }
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - { match: { path: { exact: /v1/messages }, headers: [{ name: x-to, exact: openai }, { name: x-fb, exact: "1" }] }, fallback: { clusters: [{ cluster: oa-bad }, { cluster: oa-good }] } }
      - { match: { path: { exact: /v1/messages }, headers: [{ name: x-to, exact: openai }] }, cluster: oa-bad }
      - { match: { path: { exact: /v1/messages }, headers: [{ name: x-fb, exact: "1" }] }, fallback: { clusters: [{ cluster: an-bad }, { cluster: an-good }] } }
      - { match: { path: { exact: /v1/messages } }, cluster: an-bad }
      - { match: { headers: [{ name: x-fb, exact: "1" }] }, fallback: { clusters: [{ cluster: oa-bad }, { cluster: oa-good }] } }
      - { cluster: oa-bad }
clusters:
  - { name: oa-bad, provider: openai, endpoints: [{ url: "${bad.url}/v1", api_key: k }] }
  - { name: oa-good, provider: openai, endpoints: [{ url: "${good.url}/v1", api_key: k }] }
  - { name: an-bad, provider: anthropic, endpoints: [{ url: "${bad.url}/v1", api_key: k }] }
  - { name: an-good, provider: anthropic, endpoints: [{ url: "${good.url}/v1", api_key: k }] }
`)
})

after(async () => {
  await gw?.stop()
  await bad?.close()
  await good?.close()
})

type Wire = 'openai' | 'anthropic'
/** How the broken upstream answers, given the wire format it speaks. */
type Breakage = (wire: Wire, res: ServerResponse) => void

const JSON_TYPE = { 'content-type': 'application/json' }
const whole = (wire: Wire) => (wire === 'anthropic' ? anthropicMessage('from-bad') : openAICompletion('from-bad'))
const lengthOf = (s: string) => String(Buffer.byteLength(s))

const BREAKAGES: Record<string, Breakage> = {
  'a body truncated, with a content-length that matches what is sent': (wire, res) => {
    const body = whole(wire).slice(0, 40)
    res.writeHead(200, { ...JSON_TYPE, 'content-length': lengthOf(body) })
    res.end(body)
  },
  'a body that is not valid JSON (though it has the success key)': (wire, res) => {
    const body = whole(wire).replace('"usage":', 'usage:')
    res.writeHead(200, { ...JSON_TYPE, 'content-length': lengthOf(body) })
    res.end(body)
  },
  'a body cut mid-way: a larger content-length than what is sent, then the socket destroyed': (wire, res) => {
    const body = whole(wire)
    res.writeHead(200, { ...JSON_TYPE, 'content-length': lengthOf(body) })
    res.write(body.slice(0, body.length >> 1), () => res.socket?.destroy())
  },
  'a 200 JSON document without the success key (an error object)': (wire, res) => {
    const body = wire === 'anthropic'
      ? JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })
      : JSON.stringify({ error: { message: 'The server had an error while processing your request', type: 'server_error' } })
    res.writeHead(200, { ...JSON_TYPE, 'content-length': lengthOf(body) })
    res.end(body)
  },
  'a chunked body (no content-length) that ends truncated': (wire, res) => {
    const body = whole(wire)
    res.writeHead(200, JSON_TYPE)
    res.write(body.slice(0, 30))
    res.end(body.slice(30, 60))
  },
}

const messages = [{ role: 'user' as const, content: 'hi' }]
let sdks: { openai: OpenAI; anthropic: Anthropic } | undefined
const clients = () => (sdks ??= {
  openai: new OpenAI({ baseURL: `${base}/v1`, apiKey: 'caller', maxRetries: 0 }),
  anthropic: new Anthropic({ baseURL: base, apiKey: 'caller', maxRetries: 0 }),
})

interface Path {
  readonly what: string
  /** The wire format the broken upstream speaks on this path. */
  readonly wire: Wire
  readonly badCluster: string
  readonly goodCluster: string
  call(fallback: boolean): Promise<{ text: string; cluster: string | null }>
  /** The error class the caller's SDK raises for a 5xx. */
  readonly serverError: typeof OpenAI.InternalServerError | typeof Anthropic.InternalServerError
}

async function viaAnthropic(headers: Record<string, string>) {
  const { data, response } = await clients().anthropic.messages.create({ model: 'm', max_tokens: 16, messages }, { headers }).withResponse()
  const first = data.content?.[0]
  return { text: first?.type === 'text' ? first.text : JSON.stringify(data.content ?? data), cluster: response.headers.get('x-switchyard-cluster') }
}

const PATHS: Path[] = [
  {
    what: 'OpenAI SDK → openai cluster',
    wire: 'openai', badCluster: 'oa-bad', goodCluster: 'oa-good', serverError: OpenAI.InternalServerError,
    async call(fallback) {
      const { data, response } = await clients().openai.chat.completions.create({ model: 'm', messages }, { headers: { 'x-fb': fallback ? '1' : '0' } }).withResponse()
      return { text: data.choices?.[0]?.message?.content ?? JSON.stringify(data), cluster: response.headers.get('x-switchyard-cluster') }
    },
  },
  {
    what: 'Anthropic SDK → anthropic cluster (pass-through)',
    wire: 'anthropic', badCluster: 'an-bad', goodCluster: 'an-good', serverError: Anthropic.InternalServerError,
    call: (fallback) => viaAnthropic({ 'x-fb': fallback ? '1' : '0' }),
  },
  {
    what: 'Anthropic SDK → openai cluster (translated)',
    wire: 'openai', badCluster: 'oa-bad', goodCluster: 'oa-good', serverError: Anthropic.InternalServerError,
    call: (fallback) => viaAnthropic({ 'x-fb': fallback ? '1' : '0', 'x-to': 'openai' }),
  },
]

/** Runs one breakage on every path, with and without a fallback. */
async function checkBreakage(breakage: Breakage): Promise<void> {
  for (const p of PATHS) {
    bad.answer = (_req, res) => breakage(p.wire, res)

    const triedBefore = bad.requests.length
    const served = await p.call(true)
    assert.equal(bad.requests.length, triedBefore + 1, `${p.what}: the broken upstream was tried first`)
    assert.deepEqual(served, { text: 'from-good', cluster: p.goodCluster }, `${p.what}, with a fallback: the fallback's answer`)

    await assert.rejects(p.call(false), (e: any) => {
      assert.ok(e instanceof p.serverError, `${p.what}, no fallback: ${e?.constructor?.name}: ${e?.message}`)
      assert.equal(e.status, 502, `${p.what}: ${e.message}`)
      assert.match(e.message, new RegExp(`cluster '${p.badCluster}' failed`), p.what)
      // In the caller's protocol: Anthropic's error envelope, or OpenAI's error object.
      if (e instanceof Anthropic.APIError) assert.equal((e.error as any)?.type, 'error', p.what)
      else assert.equal((e.error as any)?.type, 'server_error', p.what)
      return true
    })
  }
}

for (const [what, breakage] of Object.entries(BREAKAGES)) {
  test(`${what}: is failed over to the fallback, else a 502 in the caller's protocol`, () => checkBreakage(breakage))
}

test('a sound answer from the same upstream still passes on every path', async () => {
  bad.answer = (req, res) => {
    res.writeHead(200, JSON_TYPE)
    res.end(req.url.endsWith('/messages') ? anthropicMessage('from-bad') : openAICompletion('from-bad'))
  }
  for (const p of PATHS) {
    assert.deepEqual(await p.call(false), { text: 'from-bad', cluster: p.badCluster }, p.what)
    assert.deepEqual(await p.call(true), { text: 'from-bad', cluster: p.badCluster }, `${p.what}, fallback route`)
  }
})

test('each operation is judged by its own success key; other paths by being a complete JSON document', async () => {
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: r.status, text: await r.text() }
  }
  const messageOf = (text: string) => JSON.parse(text).error?.message as string
  const answerWith = (body: string) => {
    bad.answer = (_req, res) => {
      res.writeHead(200, { ...JSON_TYPE, 'content-length': lengthOf(body) })
      res.end(body)
    }
  }
  answerWith(JSON.stringify({ object: 'list', model: 'e' }))
  const embeddings = await post('/v1/embeddings', { model: 'e', input: 'x' })
  assert.equal(embeddings.status, 502, embeddings.text)
  assert.match(messageOf(embeddings.text), /cluster 'oa-bad' failed: .*no "data"/)
  answerWith(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.5] }], model: 'e' }))
  assert.equal((await post('/v1/embeddings', { model: 'e', input: 'x' })).status, 200)

  answerWith(JSON.stringify({ id: 'resp_1', object: 'response', status: 'failed' }))
  const responses = await post('/v1/responses', { model: 'm', input: 'hi' })
  assert.equal(responses.status, 502, responses.text)
  assert.match(messageOf(responses.text), /cluster 'oa-bad' failed: .*no "output"/)

  // A path the gateway has no shape for: any complete document is an answer, a truncated one is not.
  answerWith(JSON.stringify({ results: [{ flagged: false }] }))
  assert.deepEqual(await post('/v1/moderations', { input: 'x' }), { status: 200, text: JSON.stringify({ results: [{ flagged: false }] }) })
  answerWith('{"results":[{"flagged":fal')
  const cut = await post('/v1/moderations', { input: 'x' })
  assert.equal(cut.status, 502, cut.text)
  assert.match(messageOf(cut.text), /cluster 'oa-bad' failed: .*not a complete JSON document/)
})

test('a 200 that is not JSON at all (a proxy\'s HTML page) is not a success either', async () => {
  const page = '<html><body><h1>502 Bad Gateway</h1></body></html>'
  bad.answer = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': lengthOf(page) })
    res.end(page)
  }
  for (const p of PATHS) {
    assert.deepEqual(await p.call(true), { text: 'from-good', cluster: p.goodCluster }, `${p.what}, with a fallback`)
    await assert.rejects(p.call(false), (e: any) => {
      assert.ok(e instanceof p.serverError && e.status === 502, `${p.what}, no fallback: ${e?.constructor?.name}: ${e?.message}`)
      return true
    })
  }
})
