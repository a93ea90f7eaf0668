import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decisionHeaders, openAiDuration, rateLimitHeaders } from '../../../src/runtime/limits/headers.js'
import type { Decision } from '../../../src/runtime/limits/types.js'

const NOW = Date.UTC(2025, 0, 15, 14, 23, 0, 400)
const lease = { finish() {} }

test('durations read the way OpenAI writes them', () => {
  assert.deepStrictEqual([0, 12, 999, 1000, 1500, 59_999, 60_000, 360_000, 3_723_000, 0.2].map(openAiDuration), ['0ms', '12ms', '999ms', '1s', '1.5s', '59.999s', '1m0s', '6m0s', '1h2m3s', '1ms'])
})

test('OpenAI callers get the requests and tokens trios', () => {
  const d: Decision = { ok: true, lease, requests: { limit: 60, remaining: 59, resetMs: 1000 }, tokens: { limit: 150000, remaining: 149984, resetMs: 360_000 } }
  assert.deepStrictEqual(Object.fromEntries(decisionHeaders('openai', d, NOW)), {
    'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '59', 'x-ratelimit-reset-requests': '1s',
    'x-ratelimit-limit-tokens': '150000', 'x-ratelimit-remaining-tokens': '149984', 'x-ratelimit-reset-tokens': '6m0s',
  })
  assert.deepStrictEqual(rateLimitHeaders('responses', d, NOW), rateLimitHeaders('openai', d, NOW))
})

test('without a total token rule, OpenAI callers see the tighter of input and output', () => {
  const h = Object.fromEntries(rateLimitHeaders('openai', { inputTokens: { limit: 1000, remaining: 900, resetMs: 10 }, outputTokens: { limit: 100, remaining: 10, resetMs: 20 } }, NOW))
  assert.equal(h['x-ratelimit-limit-tokens'], '100')
})

test('Anthropic callers get each family with RFC 3339 reset times; refusals add Retry-After and retry-after-ms', () => {
  const d: Decision = { ok: false, reason: 'limited', limit: 'tenant', retryAfterMs: 1234, requests: { limit: 50, remaining: 0, resetMs: 60_000 }, inputTokens: { limit: 40000, remaining: 1200, resetMs: 2500 }, outputTokens: { limit: 8000, remaining: 8000, resetMs: 0 } }
  assert.deepStrictEqual(decisionHeaders('anthropic', d, NOW), [
    ['anthropic-ratelimit-requests-limit', '50'], ['anthropic-ratelimit-requests-remaining', '0'], ['anthropic-ratelimit-requests-reset', '2025-01-15T14:24:01Z'],
    ['anthropic-ratelimit-input-tokens-limit', '40000'], ['anthropic-ratelimit-input-tokens-remaining', '1200'], ['anthropic-ratelimit-input-tokens-reset', '2025-01-15T14:23:03Z'],
    ['anthropic-ratelimit-output-tokens-limit', '8000'], ['anthropic-ratelimit-output-tokens-remaining', '8000'], ['anthropic-ratelimit-output-tokens-reset', '2025-01-15T14:23:01Z'],
    ['retry-after', '2'], ['retry-after-ms', '1234'],
  ])
})

test('a request too large for its limit tells the SDKs not to retry', () => {
  const h = decisionHeaders('openai', { ok: false, reason: 'too_large', limit: 'tenant', retryAfterMs: 60_000 }, NOW)
  assert.deepStrictEqual(h, [['x-should-retry', 'false']])
})
