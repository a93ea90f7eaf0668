/**
 * What the rate_limit filter answers, in the caller's protocol and as OpenAI and Anthropic answer
 * their own limits, so the official SDKs raise `RateLimitError` and their built-in backoff waits
 * as long as `retry-after-ms` says (both read it before `retry-after`):
 *
 * - requests: OpenAI `type: "requests"`, `code: "rate_limit_exceeded"`; tokens (and in-flight
 *   slots): `type: "tokens"`; Anthropic `rate_limit_error` for both.
 * - a reservation larger than a whole token limit, and a spent budget: the same 429s with
 *   `x-should-retry: false` (no wait helps), budgets as OpenAI's `insufficient_quota`.
 * - Redis away with `failure_mode: closed`: 503, which the SDKs retry.
 *
 * Built only on refusal; admitted requests get their headers from headers.ts.
 */
import type { Protocol } from '../../protocols.js'
import type { LocalReply } from '../types.js'
import { errorReply, type RuntimeErrorCode } from '../errors.js'
import type { BudgetVerdict } from './budget.js'
import { decisionHeaders, openAiDuration } from './headers.js'
import type { Refused } from './types.js'

function withHeaders(base: LocalReply, extra: readonly (readonly [string, string])[]): LocalReply {
  return { status: base.status, headers: [...base.headers, ...extra], body: base.body }
}

function codeOf(d: Refused): RuntimeErrorCode {
  if (d.reason === 'unavailable') return 'SY_LIMITS_UNAVAILABLE'
  if (d.reason === 'too_large') return 'SY_REQUEST_TOO_LARGE'
  return d.kind === 'requests' ? 'SY_RATE_LIMITED' : 'SY_TOKENS_LIMITED'
}

function messageOf(d: Refused): string {
  if (d.reason === 'unavailable') return 'Rate limits cannot be checked right now; try again.'
  const what = d.kind === 'concurrent' ? 'concurrent requests' : d.kind === 'requests' ? 'requests' : 'tokens'
  if (d.reason === 'too_large') {
    return `Request too large for limit '${d.limit}' on ${what}: its reservation (input tokens plus max_tokens) exceeds the whole limit. Reduce the input or max_tokens.`
  }
  return `Rate limit reached for limit '${d.limit}' on ${what}. Please try again in ${openAiDuration(d.retryAfterMs)}.`
}

export function refusedReply(protocol: Protocol, d: Refused, nowMs: number): LocalReply {
  const code = codeOf(d)
  const base = errorReply(protocol, code, messageOf(d))
  return withHeaders(base, code === 'SY_LIMITS_UNAVAILABLE' ? [['retry-after', '1']] : decisionHeaders(protocol, d, nowMs))
}

const NO_RETRY = [['x-should-retry', 'false']] as const

export function budgetReply(protocol: Protocol, v: Exclude<BudgetVerdict, { ok: true }>): LocalReply {
  if (v.reason === 'unavailable') return withHeaders(errorReply(protocol, 'SY_LIMITS_UNAVAILABLE', 'Budgets cannot be checked right now; try again.'), [['retry-after', '1']])
  const whose = v.scope === 'key' ? 'this API key' : 'your organization'
  const message = `You exceeded your current quota: the ${v.period === 'day' ? 'daily' : 'monthly'} budget of ${whose} is spent. It resets at the start of the next ${v.period ?? 'period'} (UTC).`
  return withHeaders(errorReply(protocol, 'SY_QUOTA_EXCEEDED', message), NO_RETRY)
}
