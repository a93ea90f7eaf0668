/**
 * Embedding micro-batching end to end: a gateway process with one worker (batches are per worker
 * thread), the official `openai` client, and the OpenAI mock recording every upstream request.
 * Cases that count upstream requests use the 400 ms window, so a loaded machine cannot split them.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startOpenAIMock } from '../support/mocks/openai-mock.js'
import type { ProviderMock } from '../support/mocks/mock-server.js'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

let up: ProviderMock
let gw: GatewayProcess
let port: number
/** An upstream that never answers, recording when each request's connection closes. */
let hold: Server
const held: { inputs: unknown; closed: boolean }[] = []

before(async () => {
  up = await startOpenAIMock({ apiKey: 'up-key' })
  hold = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => {
      const entry = { inputs: JSON.parse(Buffer.concat(parts).toString()).input, closed: false }
      held.push(entry)
      res.on('close', () => (entry.closed = true))
    })
  })
  await new Promise<void>((resolve) => hold.listen(0, '127.0.0.1', resolve))
  const holdUrl = `http://127.0.0.1:${(hold.address() as AddressInfo).port}/v1`
  port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
routes:
  - name: main
    rules:
      - name: retried
        match: { headers: [{ name: x-case, exact: retried }] }
        cluster: batched
        retry_policy: { num_retries: 2, retry_on: [5xx], base_interval: 5ms }
      - name: slow
        match: { headers: [{ name: x-case, exact: slow }] }
        cluster: slow-window
      - name: sized
        match: { headers: [{ name: x-case, exact: sized }] }
        cluster: sized
      - name: held
        match: { headers: [{ name: x-case, exact: held }] }
        cluster: held
      - name: direct
        match: { headers: [{ name: x-case, exact: direct }] }
        cluster: unbatched
      - { name: embed, cluster: batched }
clusters:
  - name: batched
    provider: openai
    endpoints: [{ url: "${up.url}/v1", api_key: up-key }]
    embedding_batching: { window: 40ms, max_inputs: 16 }
    circuit_breakers: { max_retries: 100 }
  - { name: slow-window, provider: openai, endpoints: [{ url: "${up.url}/v1", api_key: up-key }], embedding_batching: { window: 400ms } }
  - { name: sized, provider: openai, endpoints: [{ url: "${up.url}/v1", api_key: up-key }], embedding_batching: { window: 1s, max_inputs: 16 } }
  - { name: held, provider: openai, endpoints: [{ url: "${holdUrl}", api_key: k }], embedding_batching: { window: 30ms } }
  - { name: unbatched, provider: openai, endpoints: [{ url: "${up.url}/v1", api_key: up-key }] }
`, { workers: 1 })
})

after(async () => {
  await gw?.stop()
  await up?.close()
  hold?.closeAllConnections()
  await new Promise((resolve) => hold?.close(resolve))
})

const client = (headers: Record<string, string> = {}) => new OpenAI({ apiKey: 'caller', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, defaultHeaders: headers })
const upstreamCalls = () => up.requests.filter((r) => r.url.startsWith('/v1/embeddings'))
const texts = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag} number ${i} ${'x'.repeat(i % 5)}`)

/** What the mock answers for these inputs sent alone (its vectors depend on the text only). */
async function alone(input: string | string[]) {
  return client({ 'x-case': 'direct' }).embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'float' })
}

test('concurrent single-input callers share one upstream request and each gets its own vector', async () => {
  const inputs = texts('share', 12)
  const expected = await alone(inputs)
  const before = upstreamCalls().length
  const answers = await Promise.all(inputs.map((input) => client({ 'x-case': 'slow' }).embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'float' }).withResponse()))
  const sent = upstreamCalls().slice(before)
  assert.equal(sent.length, 1, 'one upstream request for all 12 callers')
  assert.equal(sent[0].json.input.length, 12)
  answers.forEach(({ data, response }, i) => {
    assert.equal(data.data.length, 1)
    assert.equal(data.data[0].index, 0)
    assert.deepEqual(data.data[0].embedding, expected.data[i].embedding, `caller ${i} got its own vector`)
    assert.equal(response.headers.get('x-switchyard-batch-size'), '12')
  })
  const charged = answers.reduce((n, a) => n + a.data.usage.prompt_tokens, 0)
  assert.equal(charged, expected.usage.prompt_tokens, 'the shares add up to what the provider charged')
})

test('a caller with several inputs gets them in its own order, the SDK default (base64) included', async () => {
  const mine = ['gamma ray', 'alpha', 'beta beta']
  const expected = await client({ 'x-case': 'direct' }).embeddings.create({ model: 'text-embedding-3-small', input: mine })
  const [a, , c] = await Promise.all([
    client().embeddings.create({ model: 'text-embedding-3-small', input: mine }),
    client().embeddings.create({ model: 'text-embedding-3-small', input: 'someone else' }),
    client().embeddings.create({ model: 'text-embedding-3-small', input: ['third', 'caller'] }),
  ])
  assert.deepEqual(a.data.map((d) => d.index), [0, 1, 2])
  assert.deepEqual(a.data.map((d) => d.embedding), expected.data.map((d) => d.embedding))
  assert.equal(c.data.length, 2)
})

test('a batch below max_inputs waits for its window', async () => {
  const started = performance.now()
  const answers = await Promise.all(texts('window', 5).map((input) => client({ 'x-case': 'slow' }).embeddings.create({ model: 'text-embedding-3-small', input })))
  assert.equal(answers.length, 5)
  assert.ok(performance.now() - started >= 350, 'sent when its 400 ms window ended')
})

test('a full batch goes at once; another model is a batch of its own', async () => {
  const before = upstreamCalls().length
  const started = performance.now()
  let fullDoneAt = 0
  const full = Promise.all(texts('m1', 16).map((input) => client({ 'x-case': 'sized' }).embeddings.create({ model: 'model-one', input }))).then(() => (fullDoneAt = performance.now() - started))
  const other = Promise.all(texts('m2', 3).map((input) => client({ 'x-case': 'sized' }).embeddings.create({ model: 'model-two', input })))
  await Promise.all([full, other])
  const otherDoneAt = performance.now() - started
  const sent = upstreamCalls().slice(before)
  assert.deepEqual(sent.map((r) => [r.json.model, r.json.input.length]).sort(), [['model-one', 16], ['model-two', 3]])
  assert.ok(fullDoneAt < 900, `16 inputs (max_inputs) went before the 1 s window: ${fullDoneAt.toFixed(0)} ms`)
  assert.ok(otherDoneAt >= 950, `3 inputs waited for the window: ${otherDoneAt.toFixed(0)} ms`)
})

test('a failed batch fails every member alike, in the OpenAI format', async () => {
  up.failNext({ kind: 'server' })
  const results = await Promise.allSettled(texts('fail', 5).map((input) => client().embeddings.create({ model: 'text-embedding-3-small', input })))
  for (const r of results) {
    assert.equal(r.status, 'rejected')
    const e = (r as PromiseRejectedResult).reason
    assert.ok(e instanceof OpenAI.APIError)
    assert.equal(e.status, 500)
    assert.match(e.message, /server had an error/)
  }
})

test('a failed batch is retried for members whose route retries it, and they succeed', async () => {
  const before = upstreamCalls().length
  up.failNext({ kind: 'server' })
  const inputs = texts('retry', 6)
  const answers = await Promise.all(inputs.map((input) => client({ 'x-case': 'retried' }).embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'float' })))
  const sent = upstreamCalls().slice(before)
  assert.equal(sent.length, 2, `the failed batch and one retried batch: ${JSON.stringify(sent.map((r) => r.json.input))}`)
  assert.equal(sent[1].json.input.length, 6)
  const expected = await alone(inputs)
  answers.forEach((a, i) => assert.deepEqual(a.data[0].embedding, expected.data[i].embedding))
})

test('a member whose client left before the flush is not sent upstream', async () => {
  const before = upstreamCalls().length
  const gone = new AbortController()
  const leaving = client({ 'x-case': 'slow' }).embeddings.create({ model: 'text-embedding-3-small', input: 'I will leave' }, { signal: gone.signal })
  const staying = texts('stay', 3).map((input) => client({ 'x-case': 'slow' }).embeddings.create({ model: 'text-embedding-3-small', input }))
  setTimeout(() => gone.abort(), 100)
  await assert.rejects(leaving)
  const answers = await Promise.all(staying)
  assert.equal(answers.length, 3)
  const sent = upstreamCalls().slice(before)
  assert.equal(sent.length, 1, JSON.stringify(sent.map((r) => r.json)))
  assert.deepEqual(sent[0].json.input.sort(), texts('stay', 3).sort())
})

test('when every member of a batch in flight has left, the upstream call is aborted', async () => {
  const controllers = [new AbortController(), new AbortController()]
  // Settled at once: each rejects (aborted) while the test goes on.
  const calls = controllers.map((c, i) => client({ 'x-case': 'held' }).embeddings.create({ model: 'm', input: `left ${i}` }, { signal: c.signal }).then(() => 'answered', () => 'aborted'))
  const deadline = Date.now() + 3000
  while (held.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  assert.equal(held.length, 1, 'one batched request reached the upstream')
  assert.deepEqual(held[0].inputs, ['left 0', 'left 1'])
  controllers[0].abort()
  await new Promise((r) => setTimeout(r, 100))
  assert.equal(held[0].closed, false, 'one member still waits: the call goes on')
  controllers[1].abort()
  assert.deepEqual(await Promise.all(calls), ['aborted', 'aborted'])
  const until = Date.now() + 3000
  while (!held[0].closed && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
  assert.equal(held[0].closed, true, 'nobody left to answer: the upstream request was aborted')
})
