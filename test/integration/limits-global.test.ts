/**
 * Global limits as the official SDKs see them: one gateway process (`scope: global`, a private
 * redis-server) in front of a local OpenAI-format upstream. Request and token limits raise
 * `RateLimitError` in both SDKs; with retries on, each SDK's own backoff waits as long as
 * `retry-after-ms` says and then succeeds; a spent budget answers `insufficient_quota` (and the
 * spend is in Redis where docs/limits.md says); successful answers carry the rate-limit headers.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startRedis, type RedisServer } from '../support/redis-server.js'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { anthropicClient, countingFetch, keyFor, openaiClient, startLimitsGateway, utcDay, type LimitsGateway } from '../support/limits-rig.js'
import { eventually } from '../support/gateway-process.js'

const PREFIX = `lg${process.pid}:`
const keys = {
  reqs: keyFor('reqs', 'reqs-key'),
  reqsAnt: keyFor('reqs-ant', 'reqs-ant-key'),
  toks: keyFor('toks', 'toks-key'),
  toksAnt: keyFor('toks-ant', 'toks-ant-key'),
  retry: keyFor('retry', 'retry-key'),
  retryAnt: keyFor('retry-ant', 'retry-ant-key'),
  spender: keyFor('spender', 'spender-key'),
  headers: keyFor('headers', 'headers-key'),
}

let redis: RedisServer
let up: Upstream
let g: LimitsGateway

before(async () => {
  redis = await startRedis()
  // Answers use all of max_tokens (4 without one), so reconciled usage keeps the token buckets spent.
  up = await startOpenAIUpstream('up', { usage: (b) => ({ prompt_tokens: 5, completion_tokens: b?.max_completion_tokens ?? b?.max_tokens ?? 4 }) })
  g = await startLimitsGateway({
    upstream: up.url,
    redis: { url: redis.url, command_timeout: '2s', key_prefix: PREFIX },
    // 5 prompt + 4 completion tokens (the upstream's usage) at 1 per million each: 9,000 nanos per answer.
    prices: [{ model: 'gpt-4o-mini', input: 1, output: 1 }],
    rateLimit: { scope: 'global', failure_mode: 'closed', default_max_output_tokens: 64 },
    tenants: [
      { name: 'reqs', limits: { requests_per_minute: 3 } },
      { name: 'reqs-ant', limits: { requests_per_minute: 3 } },
      { name: 'toks', limits: { tokens_per_minute: 400 } },
      { name: 'toks-ant', limits: { tokens_per_minute: 400 } },
      { name: 'retry', limits: { requests_per_second: 2 } },
      { name: 'retry-ant', limits: { requests_per_second: 2 } },
      // Two answers (18,000 nanos) spend it; the third request is refused.
      { name: 'spender', budget: { day: 0.000015 } },
      { name: 'headers', limits: { requests_per_minute: 100, tokens_per_minute: 100000 } },
    ],
    keys: Object.values(keys).map((k) => k.record),
  }, { workers: 2 })
})

after(async () => {
  const code = await g?.gw.stop()
  await up?.close()
  await redis?.close()
  assert.equal(code, 0, `gateway exit code; output:\n${g?.gw.output()}`)
})

const ask = (c: OpenAI, o: { maxTokens?: number } = {}) =>
  c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...(o.maxTokens !== undefined && { max_tokens: o.maxTokens }) })
const askAnt = (c: Anthropic, maxTokens = 16) => c.messages.create({ model: 'gpt-4o-mini', max_tokens: maxTokens, messages: [{ role: 'user', content: 'hi' }] })

describe('openai SDK', () => {
  test('a request limit: RateLimitError (429, type requests, rate_limit_exceeded) with retry-after and x-ratelimit-* headers', async () => {
    const c = openaiClient(g.port, keys.reqs.key)
    for (let i = 0; i < 3; i++) await ask(c)
    const before = up.requests.length
    const e = await ask(c).then(() => assert.fail('served'), (e) => e)
    assert.ok(e instanceof OpenAI.RateLimitError, String(e))
    assert.equal(e.status, 429)
    assert.equal(e.type, 'requests')
    assert.equal(e.code, 'rate_limit_exceeded')
    const ms = Number(e.headers.get('retry-after-ms'))
    // 3 per minute: one more fits 20 s after the first.
    assert.ok(ms > 10_000 && ms <= 20_000, `retry-after-ms ${ms}`)
    assert.equal(e.headers.get('retry-after'), String(Math.ceil(ms / 1000)))
    assert.equal(e.headers.get('x-ratelimit-limit-requests'), '3')
    assert.equal(e.headers.get('x-ratelimit-remaining-requests'), '0')
    assert.match(e.headers.get('x-ratelimit-reset-requests') ?? '', /^\d+(\.\d+)?s$|^\d+m[\d.]+s$/)
    assert.equal(up.requests.length, before, 'a refused request never reaches the provider')
  })

  test('a token limit: RateLimitError with type tokens once the reservations do not fit', async () => {
    const c = openaiClient(g.port, keys.toks.key)
    // Each uses 5 + 150 tokens (reserved: its input estimate + 150): two fit in 400, the third does not.
    await ask(c, { maxTokens: 150 })
    await ask(c, { maxTokens: 150 })
    const e = await ask(c, { maxTokens: 150 }).then(() => assert.fail('served'), (e) => e)
    assert.ok(e instanceof OpenAI.RateLimitError, String(e))
    assert.equal(e.type, 'tokens')
    assert.equal(e.code, 'rate_limit_exceeded')
    assert.ok(Number(e.headers.get('retry-after-ms')) > 0)
    assert.equal(e.headers.get('x-ratelimit-limit-tokens'), '400')
  })

  test('a reservation larger than the whole token limit: 429 with x-should-retry: false, which the SDK obeys', async () => {
    const counter = countingFetch()
    const c = openaiClient(g.port, keys.toks.key, { maxRetries: 3, fetch: counter.fetch })
    const e = await ask(c, { maxTokens: 1000 }).then(() => assert.fail('served'), (e) => e)
    assert.ok(e instanceof OpenAI.RateLimitError, String(e))
    assert.equal(e.headers.get('x-should-retry'), 'false')
    assert.equal(counter.calls(), 1, 'no retry')
  })

  test('with maxRetries: 1 the SDK waits retry-after-ms and then succeeds', async () => {
    const c0 = openaiClient(g.port, keys.retry.key)
    // Spend the bucket until it refuses (a loaded machine can be slow enough to refill between two calls).
    for (let i = 0; i < 20 && (await ask(c0).then(() => true, () => false)); i++);
    const counter = countingFetch()
    const c = openaiClient(g.port, keys.retry.key, { maxRetries: 1, fetch: counter.fetch })
    const t0 = Date.now()
    const r = await ask(c)
    const ms = Date.now() - t0
    assert.equal(r.choices[0].message.content, 'Hello from up.')
    assert.equal(counter.calls(), 2, 'one refusal, one retry')
    // 2 per second: the next one fits ~500 ms after the burst; the SDK waited that, not its default 0.5–8 s backoff.
    assert.ok(ms >= 250 && ms < 2500, `took ${ms} ms`)
  })

  test('a spent budget: RateLimitError insufficient_quota with x-should-retry: false; the spend is in Redis', async () => {
    const c = openaiClient(g.port, keys.spender.key, { maxRetries: 2 })
    const spendKey = `${PREFIX}{spender}:spend:t:d:${utcDay()}`
    await ask(c)
    await eventually(() => redis.cli('get', spendKey) === '9000', undefined, 'first answer recorded')
    await ask(c)
    await eventually(() => redis.cli('get', spendKey) === '18000', undefined, 'second answer recorded')
    const counter = countingFetch()
    const c2 = openaiClient(g.port, keys.spender.key, { maxRetries: 2, fetch: counter.fetch })
    const e = await ask(c2).then(() => assert.fail('served'), (e) => e)
    assert.ok(e instanceof OpenAI.RateLimitError, String(e))
    assert.equal(e.code, 'insufficient_quota')
    assert.equal(e.type, 'insufficient_quota')
    assert.equal(e.headers.get('x-should-retry'), 'false')
    assert.equal(counter.calls(), 1)
    // The key's spend is kept beside the tenant's, and the month's beside the day's.
    assert.equal(redis.cli('get', `${PREFIX}{spender}:spend:k:spender-key:d:${utcDay()}`), '18000')
    assert.equal(redis.cli('get', `${PREFIX}{spender}:spend:t:m:${utcDay().slice(0, 7)}`), '18000')
    assert.ok(Number(redis.cli('pttl', spendKey)) > 86_400_000, 'a day key lives a day past its day')
  })

  test('a successful answer carries the x-ratelimit-* headers (withResponse)', async () => {
    const c = openaiClient(g.port, keys.headers.key)
    const { response } = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse()
    const h = response.headers
    assert.equal(h.get('x-ratelimit-limit-requests'), '100')
    assert.equal(h.get('x-ratelimit-remaining-requests'), '99')
    assert.match(h.get('x-ratelimit-reset-requests') ?? '', /^\d+ms$/)
    assert.equal(h.get('x-ratelimit-limit-tokens'), '100000')
    const remaining = Number(h.get('x-ratelimit-remaining-tokens'))
    assert.ok(remaining < 100000 - 10 && remaining > 100000 - 200, `remaining tokens ${remaining}`)
    assert.equal(h.get('retry-after'), null)
  })
})

describe('Anthropic SDK', () => {
  test('a request limit: RateLimitError (rate_limit_error) with retry-after and anthropic-ratelimit-requests-* headers', async () => {
    const c = anthropicClient(g.port, keys.reqsAnt.key)
    for (let i = 0; i < 3; i++) await askAnt(c)
    const e = await askAnt(c).then(() => assert.fail('served'), (e) => e)
    assert.ok(e instanceof Anthropic.RateLimitError, String(e))
    assert.equal(e.status, 429)
    assert.equal((e.error as any)?.error?.type, 'rate_limit_error')
    assert.ok(Number(e.headers.get('retry-after-ms')) > 10_000)
    assert.equal(e.headers.get('anthropic-ratelimit-requests-limit'), '3')
    assert.equal(e.headers.get('anthropic-ratelimit-requests-remaining'), '0')
    const reset = Date.parse(e.headers.get('anthropic-ratelimit-requests-reset') ?? '')
    assert.ok(reset > Date.now() && reset < Date.now() + 61_000, `reset ${e.headers.get('anthropic-ratelimit-requests-reset')}`)
  })

  test('a token limit: RateLimitError with anthropic-ratelimit-tokens-* headers', async () => {
    const c = anthropicClient(g.port, keys.toksAnt.key)
    await askAnt(c, 150)
    await askAnt(c, 150)
    const e = await askAnt(c, 150).then(() => assert.fail('served'), (e) => e)
    assert.ok(e instanceof Anthropic.RateLimitError, String(e))
    assert.equal((e.error as any)?.error?.type, 'rate_limit_error')
    assert.equal(e.headers.get('anthropic-ratelimit-tokens-limit'), '400')
    assert.ok(Number(e.headers.get('retry-after-ms')) > 0)
  })

  test('with maxRetries: 1 the SDK waits retry-after-ms and then succeeds', async () => {
    const c0 = anthropicClient(g.port, keys.retryAnt.key)
    for (let i = 0; i < 20 && (await askAnt(c0).then(() => true, () => false)); i++);
    const counter = countingFetch()
    const c = anthropicClient(g.port, keys.retryAnt.key, { maxRetries: 1, fetch: counter.fetch })
    const t0 = Date.now()
    const r = await askAnt(c)
    const ms = Date.now() - t0
    assert.equal(r.content[0].type === 'text' && r.content[0].text, 'Hello from up.')
    assert.equal(counter.calls(), 2)
    assert.ok(ms >= 250 && ms < 2500, `took ${ms} ms`)
  })

  test('a successful answer carries the anthropic-ratelimit-* headers (withResponse)', async () => {
    const c = anthropicClient(g.port, keys.headers.key)
    const { response } = await c.messages.create({ model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).withResponse()
    assert.equal(response.headers.get('anthropic-ratelimit-requests-limit'), '100')
    assert.ok(Number(response.headers.get('anthropic-ratelimit-requests-remaining')) < 100)
    assert.equal(response.headers.get('anthropic-ratelimit-tokens-limit'), '100000')
    assert.ok(Date.parse(response.headers.get('anthropic-ratelimit-tokens-reset') ?? '') > 0)
  })
})
