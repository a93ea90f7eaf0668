/**
 * The cache's semantic tier end to end: a gateway process in front of a counting OpenAI-format chat
 * upstream, embedding through a second cluster whose upstream answers fixed vectors per text (so
 * each case picks its similarity), with the Redis tier on (a private redis-server). Callers are
 * the official `openai` client. Each case asks its own questions (its own scope or vectors).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { startEmbeddingsUpstream, type EmbeddingsUpstream } from '../support/embeddings-upstream.js'
import { startGatewayHosts, stopGatewayHosts, type GatewayHost } from '../support/gateway-hosts.js'
import { startRedis, type RedisServer } from '../support/redis-server.js'
import { eventually } from '../support/eventually.js'

/** Unit vectors at a chosen cosine to e1 = [1, 0, 0, 0]. */
const at = (cos: number, axis = 1): number[] => {
  const v = [cos, 0, 0, 0]
  v[axis] = Math.sqrt(1 - cos * cos)
  return v
}

const FRANCE = 'What is the capital of France?'
const FRANCE_REWORDED = 'Tell me which city is the capital of France'
const FRANCE_STREAMED = 'capital of France, please'
const GERMANY = 'What is the capital of Germany?'
const SPAIN = 'What is the capital of Spain?'
const SPAIN_REWORDED = 'Which city is the capital of Spain?'
const ITALY = 'What is the capital of Italy?'
const ITALY_REWORDED = 'Name the capital of Italy'
const SLOW = 'a question whose embedding never comes in time'

let chat: Upstream
let embeddings: EmbeddingsUpstream
let redis: RedisServer
let host: GatewayHost
let port: number

const config = () => `
filters:
  - { name: who, type: trusted_header, config: { header: x-auth-tenant, sources: [127.0.0.1, "::1"] } }
  - name: answers
    type: cache
    config:
      ttl: 10m
      redis: { enabled: true }
      semantic: { enabled: true, cluster: embed, model: embed-small, threshold: 0.9, timeout: 300ms }
tenants:
  - { name: tenant-a }
  - { name: tenant-b }
routes:
  - { name: main, rules: [{ name: chat, cluster: chat }] }
clusters:
  - { name: chat, provider: openai, endpoints: [{ url: "${chat.url}" }] }
  - { name: embed, provider: openai, endpoints: [{ url: "${embeddings.url}" }] }
`

before(async () => {
  chat = await startOpenAIUpstream('up')
  embeddings = await startEmbeddingsUpstream({
    vectors: {
      [FRANCE]: [1, 0, 0, 0],
      [FRANCE_REWORDED]: at(0.98),
      [FRANCE_STREAMED]: at(0.95, 2),
      [GERMANY]: at(0.8),
      [SPAIN]: [0, 0, 0, 1],
      [SPAIN_REWORDED]: [0, 0, 0.2, 0.98],
      [ITALY]: [0, 1, 0, 0],
      [ITALY_REWORDED]: [0, 0.96, 0.28, 0],
    },
    fallback: [0, 0, 1, 0],
    slow: [SLOW],
    slowMs: 2000,
  })
  redis = await startRedis()
  ;[host] = await startGatewayHosts({
    hosts: 1,
    redis: { url: redis.url, keyPrefix: 'sem:', commandTimeout: '200ms' },
    listenerFilters: ['who', 'answers'],
    config: config(),
  })
  port = host.port
})

after(async () => {
  await stopGatewayHosts([host])
  await redis?.close()
  await embeddings?.close()
  await chat?.close()
})

const calls = () => chat.requests.filter((r) => r.url.includes('/chat/completions')).length
const client = (tenant = 'tenant-a') => new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, defaultHeaders: { 'x-auth-tenant': tenant } })
const question = (text: string) => ({ model: 'gpt-4o', temperature: 0, messages: [{ role: 'system' as const, content: 'Answer briefly.' }, { role: 'user' as const, content: text }] })

async function ask(text: string, tenant = 'tenant-a') {
  const { data, response } = await client(tenant).chat.completions.create(question(text)).withResponse()
  return { text: data.choices[0].message.content, cache: response.headers.get('x-switchyard-cache'), similarity: response.headers.get('x-switchyard-cache-similarity') }
}

/** Keys under `pattern` in Redis: the answers (`sem:cache:e:*`) and their vectors (`sem:cache:semantic:*`). */
const keys = (pattern: string) => redis.cli('--scan', '--pattern', pattern).trim().split('\n').filter(Boolean)

test('a reworded question above the threshold is answered from the stored one', async () => {
  const before = calls()
  const first = await ask(FRANCE)
  const reworded = await ask(FRANCE_REWORDED)
  assert.deepStrictEqual([first.cache, reworded.cache, calls() - before], ['miss', 'semantic-hit', 1])
  assert.equal(reworded.text, first.text)
  assert.equal(reworded.similarity, '0.9800')
  assert.deepStrictEqual(embeddings.requests.slice(-2).map((r) => [r.input, r.model]), [[FRANCE, 'embed-small'], [FRANCE_REWORDED, 'embed-small']])
})

test('a question below the threshold goes upstream', async () => {
  await ask(FRANCE)
  const before = calls()
  const other = await ask(GERMANY)
  assert.deepStrictEqual([other.cache, other.similarity, calls() - before], ['miss', null, 1])
})

test("another tenant's stored prompt never answers", async () => {
  await ask(FRANCE)
  const before = calls()
  const b = await ask(FRANCE_REWORDED, 'tenant-b')
  assert.deepStrictEqual([b.cache, calls() - before], ['miss', 1])
})

test('an embedding call that times out is a miss, and the request is still answered', async () => {
  const before = calls()
  const t0 = performance.now()
  const slow = await ask(SLOW)
  const took = performance.now() - t0
  assert.deepStrictEqual([slow.cache, slow.text, calls() - before], ['miss', 'Hello from up.', 1])
  assert.ok(took < 1500, `answered after ${Math.round(took)} ms: the 2 s embedding was not waited for`)
  // The abort reaches the embeddings server as a closed socket, after the answer: poll for it.
  const rec = () => embeddings.requests.filter((r) => r.input === SLOW)
  await eventually(() => rec().length >= 1 && rec()[0].aborted, undefined, 'the timed-out embedding call to be aborted upstream')
})

test('a streaming caller is served a semantic hit as a well-formed stream', async () => {
  const first = await ask(FRANCE)
  const before = calls()
  const { data, response } = await client().chat.completions.create({ ...question(FRANCE_STREAMED), stream: true, stream_options: { include_usage: true } }).withResponse()
  let text = ''
  let finish: string | null | undefined
  let usage: OpenAI.CompletionUsage | undefined
  for await (const c of data) {
    text += c.choices[0]?.delta?.content ?? ''
    finish ??= c.choices[0]?.finish_reason
    if (c.usage) usage = c.usage
  }
  assert.deepStrictEqual([response.headers.get('x-switchyard-cache'), response.headers.get('x-switchyard-cache-similarity'), calls() - before], ['semantic-hit', '0.9500', 0])
  assert.deepStrictEqual([text, finish], [first.text, 'stop'])
  assert.equal(usage?.prompt_tokens_details?.cached_tokens, usage?.prompt_tokens)
})

test('an Anthropic caller is served a semantic hit filled by an OpenAI caller', async () => {
  const { data } = await client().chat.completions.create({ ...question(ITALY), max_tokens: 100 }).withResponse()
  const before = calls()
  const anthropic = new Anthropic({ apiKey: 'k', baseURL: `http://127.0.0.1:${port}`, maxRetries: 0, defaultHeaders: { 'x-auth-tenant': 'tenant-a' } })
  const { data: msg, response } = await anthropic.messages
    .create({ model: 'gpt-4o', max_tokens: 100, temperature: 0, system: 'Answer briefly.', messages: [{ role: 'user', content: ITALY_REWORDED }] })
    .withResponse()
  assert.deepStrictEqual([response.headers.get('x-switchyard-cache'), response.headers.get('x-switchyard-cache-similarity'), calls() - before], ['semantic-hit', '0.9600', 0])
  assert.equal(msg.content[0].type === 'text' && msg.content[0].text, data.choices[0].message.content)
})

test('a restarted gateway warms its index from Redis and answers a reworded question', async () => {
  const [answers, vectors] = [keys('sem:cache:e:*').length, keys('sem:cache:semantic:*').length]
  await ask(SPAIN)
  // Both background writes (the answer and its vector) must reach Redis before the restart.
  await eventually(() => keys('sem:cache:e:*').length > answers && keys('sem:cache:semantic:*').length > vectors, undefined, 'the answer and its vector in Redis', 50)
  await host.restart()
  const before = calls()
  const reworded = await ask(SPAIN_REWORDED)
  assert.deepStrictEqual([reworded.cache, calls() - before], ['semantic-hit', 0])
})
