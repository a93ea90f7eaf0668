/**
 * The semantic tier across the worker threads of one process, without Redis: each worker keeps its
 * own index, and an answer stored through one is sent to its siblings (vector and entry), so a
 * reworded question asked through any worker is a semantic hit. A gateway process with
 * `--workers 2` in front of a counting chat upstream and an embeddings upstream of fixed vectors;
 * every request on a connection of its own, so the kernel spreads them over both workers (the
 * per-worker counts of GET /cache show which worker answered). Also: the semantic counts of
 * GET /cache and /metrics, summed over the workers, and exact hits through either worker of an
 * answer stored through one (the workers share one memory tier).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { Agent } from 'undici'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { startEmbeddingsUpstream, type EmbeddingsUpstream } from '../support/embeddings-upstream.js'
import { startGatewayHosts, stopGatewayHosts, type GatewayHost } from '../support/gateway-hosts.js'

const FRANCE = 'What is the capital of France?'
const FRANCE_REWORDED = 'Tell me which city is the capital of France'
const GERMANY = 'What is the capital of Germany?'
const SLOW = 'a question whose embedding never comes in time'
const AT_ONCE = 'asked twenty times at once through two workers'

let chat: Upstream
let embeddings: EmbeddingsUpstream
let host: GatewayHost
let port: number

const config = () => `
filters:
  - name: answers
    type: cache
    config:
      ttl: 10m
      semantic: { enabled: true, cluster: embed, model: embed-small, threshold: 0.9, timeout: 300ms }
routes:
  - { name: main, rules: [{ name: chat, cluster: chat }] }
clusters:
  - { name: chat, provider: openai, endpoints: [{ url: "${chat.url}" }] }
  - { name: embed, provider: openai, endpoints: [{ url: "${embeddings.url}" }] }
`

before(async () => {
  chat = await startOpenAIUpstream('up')
  embeddings = await startEmbeddingsUpstream({
    vectors: { [FRANCE]: [1, 0, 0, 0], [FRANCE_REWORDED]: [0.98, Math.sqrt(1 - 0.98 ** 2), 0, 0], [GERMANY]: [0.8, 0.6, 0, 0], [AT_ONCE]: [0, 0, 0, 1] },
    fallback: [0, 0, 1, 0],
    slow: [SLOW],
    slowMs: 2000,
  })
  // Two workers start slowly on a loaded box.
  ;[host] = await startGatewayHosts({ hosts: 1, workers: 2, readyTimeoutMs: 30_000, listenerFilters: ['answers'], config: config() })
  port = host.port
})

after(async () => {
  await stopGatewayHosts([host])
  await embeddings?.close()
  await chat?.close()
})

const calls = () => chat.requests.filter((r) => r.url.includes('/chat/completions')).length

/** One question on a new connection (no keep-alive): the kernel picks the worker. */
async function ask(text: string) {
  const dispatcher = new Agent({ pipelining: 0 })
  try {
    const client = new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, fetchOptions: { dispatcher } as any })
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o', temperature: 0, messages: [{ role: 'user', content: text }] }).withResponse()
    return { text: data.choices[0].message.content, cache: response.headers.get('x-switchyard-cache') }
  } finally {
    await dispatcher.close()
  }
}

const view = async () => (await (await fetch(`${host.gw.admin}/cache`)).json()) as any
type Counts = Record<string, number>
/** Each worker's counts of route `chat` (GET /cache `workers`). */
const perWorker = async (): Promise<Counts[]> => Object.values((await view()).workers).map((w: any) => (w.caches ?? w)[0]?.routes?.chat ?? {})

test('a reworded question is a semantic hit through every worker of the process, whichever stored the answer', async () => {
  const first = await ask(FRANCE)
  assert.equal(first.cache, 'miss')
  // The sibling hears of the answer by message: wait until it has (a loaded box may take a while).
  for (let i = 0; i < 100 && ((await view()).tiers.semantic?.received ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 50))
  const before = calls()
  const answers: (string | null)[] = []
  // Until both workers have answered at least one (the kernel's spread is random; 40 tries make a miss of one worker ~1e-12).
  for (let i = 0; i < 40; i++) {
    const r = await ask(FRANCE_REWORDED)
    answers.push(r.cache)
    assert.equal(r.text, first.text)
    const workers = await perWorker()
    if (workers.length === 2 && workers.every((c) => (c.semanticHit ?? 0) > 0)) break
  }
  assert.deepStrictEqual(new Set(answers), new Set(['semantic-hit']), `every reworded question hit: ${answers.join(', ')}`)
  const workers = await perWorker()
  assert.equal(workers.length, 2)
  assert.ok(workers.every((c) => c.semanticHit > 0), `both workers answered semantic hits: ${JSON.stringify(workers)}`)
  assert.equal(calls() - before, 0, 'no reworded question went upstream')
  const semantic = (await view()).tiers.semantic
  assert.deepStrictEqual([semantic.entries, semantic.remembered, semantic.received], [2, 1, 1], 'one vector indexed in each worker: remembered by one, received by the other')
})

test('GET /cache and /metrics carry the semantic counts, summed over the workers', async () => {
  const before = (await view()).routes.chat
  const below = await ask(GERMANY)
  const slow = await ask(SLOW)
  assert.deepStrictEqual([below.cache, slow.cache], ['miss', 'miss'])
  const v = await view()
  const c = v.routes.chat
  assert.deepStrictEqual(
    [c.semanticMiss - before.semanticMiss, c.embedTimeout - before.embedTimeout, c.embedError - before.embedError, c.miss - before.miss],
    [1, 1, 0, 2],
    JSON.stringify(c),
  )
  assert.ok(c.semanticHit >= 2 && c.hit === 0, `semantic hits are not exact hits: ${JSON.stringify(c)}`)
  assert.ok(v.tiers.semantic.bytes > 0 && v.tiers.semantic.evictions === 0, JSON.stringify(v.tiers.semantic))
  const metrics = await (await fetch(`${host.gw.admin}/metrics`)).text()
  const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics)?.[1])
  assert.equal(value('switchyard_cache_requests_total{route="chat",result="semantic-hit"}'), c.semanticHit)
  assert.equal(value('switchyard_cache_requests_total{route="chat",result="semantic-miss"}'), c.semanticMiss)
  assert.equal(value('switchyard_cache_embedding_failures_total{route="chat",reason="timeout"}'), c.embedTimeout)
  assert.equal(value('switchyard_cache_entries{tier="semantic"}'), v.tiers.semantic.entries)
  assert.equal(value('switchyard_cache_evictions_total{tier="semantic"}'), 0)
})

test('an answer stored through one worker is an exact hit through the other: the workers share one memory tier', async () => {
  const QUESTION = 'What is the capital of Italy?'
  const first = await ask(QUESTION)
  assert.equal(first.cache, 'miss')
  const before = calls()
  const startHits = (await perWorker()).map((c) => c.hit ?? 0)
  const answers: (string | null)[] = []
  for (let i = 0; i < 40; i++) {
    const r = await ask(QUESTION)
    answers.push(r.cache)
    assert.equal(r.text, first.text)
    const workers = await perWorker()
    if (workers.length === 2 && workers.every((c, w) => (c.hit ?? 0) > startHits[w])) break
  }
  assert.deepStrictEqual(new Set(answers), new Set(['hit']), `every repeat hit, on either worker: ${answers.join(', ')}`)
  const workers = await perWorker()
  assert.ok(workers.every((c, w) => c.hit > startHits[w]), `both workers answered exact hits: ${JSON.stringify(workers)}`)
  assert.equal(calls() - before, 0, 'no repeat went upstream')
  const memory = (await view()).tiers.memory
  assert.equal(memory.maxBytes, 64 * 1024 * 1024, `one tier's bound, not two: ${JSON.stringify(memory)}`)
})

test('identical misses at the same moment through both workers make one upstream call (single flight across the workers, no Redis)', async () => {
  const before = calls()
  chat.failNext('slow-json:400')
  const answers = await Promise.all(Array.from({ length: 20 }, () => ask(AT_ONCE)))
  assert.equal(calls() - before, 1, 'one upstream call')
  assert.deepStrictEqual(answers.filter((a) => a.cache === 'miss').length, 1)
  assert.equal(new Set(answers.map((a) => a.text)).size, 1)
  const workers = await perWorker()
  assert.ok(workers.every((c) => (c.hit ?? 0) + (c.miss ?? 0) > 0), `both workers took part: ${JSON.stringify(workers)}`)
})
