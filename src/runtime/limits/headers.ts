/**
 * Rate-limit headers as each caller's SDK reads them, on refusals and successful answers alike.
 *
 * OpenAI (Chat Completions and Responses callers): `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`,
 * the reset as a duration the way OpenAI writes it (`12ms`, `1s`, `6m0s`, `1h2m3s`): the time
 * until the bucket is back to its initial state.
 * Anthropic: `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`,
 * the reset as an RFC 3339 time at which the bucket is full again.
 * Refusals also carry `Retry-After` (whole seconds, rounded up, per RFC 9110) and `retry-after-ms`,
 * which both official SDKs prefer when present, so their own backoff waits exactly as long as needed;
 * a request too large for a limit carries `x-should-retry: false` instead, which the SDKs obey.
 */
import type { CallerProtocol } from '../../protocols.js'
import type { Decision, RateReport, RateStatus } from './types.js'

export type HeaderPairs = [string, string][]

/** OpenAI's duration notation (Go's time.Duration): `850ms`, `1s`, `1.5s`, `6m0s`, `1h0m0s`. */
export function openAiDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms))
  if (total < 1000) return `${total}ms`
  const h = Math.floor(total / 3_600_000)
  const m = Math.floor((total % 3_600_000) / 60_000)
  const s = ((total % 60_000) / 1000).toFixed(3).replace(/\.?0+$/, '')
  if (h > 0) return `${h}h${m}m${s}s`
  if (m > 0) return `${m}m${s}s`
  return `${s}s`
}

/** RFC 3339 in UTC, whole seconds rounded up (the moment is never early). */
function rfc3339(atMs: number): string {
  return new Date(Math.ceil(atMs / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

/** Header names per family, spelled once (every admitted answer carries them). */
const OPENAI_NAMES = {
  requests: ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'],
  tokens: ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'],
} as const
const ANTHROPIC_NAMES: Record<string, readonly [string, string, string]> = Object.fromEntries(
  ['requests', 'tokens', 'input-tokens', 'output-tokens'].map((w) => [w, [`anthropic-ratelimit-${w}-limit`, `anthropic-ratelimit-${w}-remaining`, `anthropic-ratelimit-${w}-reset`]]),
)

function openAi(out: HeaderPairs, what: 'requests' | 'tokens', s: RateStatus): void {
  const n = OPENAI_NAMES[what]
  out.push([n[0], String(s.limit)], [n[1], String(s.remaining)], [n[2], s.resetMs < 1000 ? `${Math.max(0, Math.ceil(s.resetMs))}ms` : openAiDuration(s.resetMs)])
}

function anthropic(out: HeaderPairs, what: string, s: RateStatus, nowMs: number): void {
  const n = ANTHROPIC_NAMES[what]
  out.push([n[0], String(s.limit)], [n[1], String(s.remaining)], [n[2], rfc3339(nowMs + s.resetMs)])
}

/** The statuses of a report as headers of `protocol`, appended to `out`; nothing for a kind no rule limited. */
export function rateLimitHeaders(protocol: CallerProtocol, report: RateReport, nowMs = Date.now(), out: HeaderPairs = []): HeaderPairs {
  if (protocol === 'anthropic') {
    if (report.requests) anthropic(out, 'requests', report.requests, nowMs)
    if (report.tokens) anthropic(out, 'tokens', report.tokens, nowMs)
    if (report.inputTokens) anthropic(out, 'input-tokens', report.inputTokens, nowMs)
    if (report.outputTokens) anthropic(out, 'output-tokens', report.outputTokens, nowMs)
    return out
  }
  if (report.requests) openAi(out, 'requests', report.requests)
  // OpenAI has one token family: the total if limited, else the tighter of input and output.
  const tokens = report.tokens ?? tighterOf(report.inputTokens, report.outputTokens)
  if (tokens) openAi(out, 'tokens', tokens)
  return out
}

function tighterOf(a: RateStatus | undefined, b: RateStatus | undefined): RateStatus | undefined {
  if (!a || !b) return a ?? b
  return b.remaining / b.limit < a.remaining / a.limit ? b : a
}

/** `Retry-After` and `retry-after-ms` for a wait. */
export function retryAfterHeaders(retryAfterMs: number): HeaderPairs {
  const ms = Math.max(0, Math.ceil(retryAfterMs))
  return [['retry-after', String(Math.ceil(ms / 1000))], ['retry-after-ms', String(ms)]]
}

/** Everything a decision puts on the answer: the rate-limit headers, plus the retry headers on a refusal. */
export function decisionHeaders(protocol: CallerProtocol, d: Decision, nowMs = Date.now()): HeaderPairs {
  const out = rateLimitHeaders(protocol, d, nowMs)
  if (d.ok) return out
  // Waiting cannot help a request larger than the limit: both SDKs skip their retry on x-should-retry: false.
  if (d.reason === 'too_large') out.push(['x-should-retry', 'false'])
  else out.push(...retryAfterHeaders(d.retryAfterMs))
  return out
}
