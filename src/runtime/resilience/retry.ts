/**
 * Retry building blocks: which failures count (for `retry_on` and `fallback.on`) and how long to
 * wait. The retry budget itself lives in the cluster's shared counters (shared-state.ts).
 */
import type { BackoffConfig } from '../../compiler/ir.js'
import type { UpstreamFailure } from '../types.js'

export type { BackoffConfig }

/**
 * A `retry_on` / `fallback.on` list, compiled once: `test` judges a failure; `statuses` says which
 * upstream statuses are worth holding an answer back for (the route might retry or fail over).
 */
export function compileConditions(list: readonly (string | number)[]): { test: (f: UpstreamFailure) => boolean; statuses: (s: number) => boolean } {
  const kinds = new Set<string>()
  const codes = new Set<number>()
  let any5xx = false
  let contextLength = false
  for (const c of list) {
    if (typeof c === 'number') codes.add(c)
    else if (c === '5xx') any5xx = true
    else if (c === '429') codes.add(429)
    else if (c === 'context_length') contextLength = true
    else kinds.add(c)
  }
  const is5xx = (s: number) => any5xx && s >= 500 && s <= 599
  const statuses = (s: number) => codes.has(s) || is5xx(s) || (contextLength && (s === 400 || s === 413))
  const test = (f: UpstreamFailure): boolean => {
    if (f.kind !== 'status') return kinds.has(f.kind)
    const s = f.status ?? 0
    if (f.contextLength && contextLength) return true
    return codes.has(s) || is5xx(s)
  }
  return { test, statuses }
}

/**
 * `Retry-After` (RFC 9110 §10.2.3), delay-seconds or an HTTP-date, as milliseconds to wait from
 * `now` (epoch ms, i.e. Date.now()-based, because an HTTP-date is wall clock); undefined when
 * absent or unreadable. A date in the past gives 0. The outlier detector's 429 cooldown uses it too.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  if (v === '') return undefined
  // delay-seconds is 1*DIGIT; some upstreams send fractions ("0.5"), which are worth honouring.
  if (/^[0-9]+(\.[0-9]+)?$/.test(v)) return Math.round(Number(v) * 1000)
  // Date.parse is lenient ("-1" is a date to it); an HTTP-date always names its weekday and month.
  if (!/[a-z]/i.test(v)) return undefined
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * Full jitter (AWS "Exponential Backoff And Jitter"): retry n (0-based) waits a uniform random
 * time in [0, min(max, base × 2^n)). Spreads retries of many clients better than equal jitter.
 */
export function backoffMs(retry: number, config: BackoffConfig, random: () => number = Math.random): number {
  const ceiling = Math.min(config.maxIntervalMs, config.baseIntervalMs * 2 ** retry)
  return random() * ceiling
}

/**
 * How long to wait before retry n: the upstream's Retry-After when it sent one we can read, else
 * the backoff. A Retry-After beyond `capMs` means waiting costs more than going elsewhere, so the
 * answer is 'fail_over'. `now` is epoch ms (an HTTP-date is wall clock).
 */
export function retryDelayMs(
  retry: number,
  retryAfter: string | undefined,
  config: BackoffConfig & { readonly retryAfterCapMs: number },
  now: number,
  random: () => number = Math.random,
): number | 'fail_over' {
  const ms = parseRetryAfter(retryAfter, now)
  if (ms !== undefined) return ms > config.retryAfterCapMs ? 'fail_over' : ms
  return backoffMs(retry, config, random)
}
