/**
 * The vocabulary the limit engines share with the `rate_limit` filter that calls them: what a
 * request is (facts), what it asks for (an estimate), what a limit is (compiled rules under a
 * descriptor key), and what the answer is (a decision carrying a lease to finish).
 */

/** What a descriptor can key on, taken from the request once identity and routing are known. */
export interface RequestFacts {
  readonly tenant: string | undefined
  readonly keyId: string | undefined
  readonly model: string | undefined
  readonly route: string | undefined
  /** Request headers by lower-case name. */
  readonly headers: Readonly<Record<string, string | undefined>>
}

/** A descriptor compiled to a key builder; undefined when the request lacks a part (the limit does not apply). */
export type KeyFn = (facts: RequestFacts) => string | undefined

/** What a token rule counts: input + output, or one of them (Anthropic's ITPM / OTPM). */
export type TokenCount = 'total' | 'input' | 'output'

export type LimitRule =
  /** At most `limit` requests per `periodMs`: a bucket of `limit` refilled continuously. */
  | { readonly kind: 'requests'; readonly limit: number; readonly periodMs: number }
  /** At most `limit` tokens per `periodMs`, reserved before forwarding and reconciled after. */
  | { readonly kind: 'tokens'; readonly limit: number; readonly periodMs: number; readonly count: TokenCount }
  /** At most `limit` requests in flight at once. */
  | { readonly kind: 'concurrent'; readonly limit: number }

/** One limit of a filter: a descriptor and the rules that hold for each of its keys. */
export interface CompiledLimit {
  readonly name: string
  readonly keyOf: KeyFn
  readonly rules: readonly LimitRule[]
}

/** The reservation a request makes before it is forwarded (see token-estimate.ts). */
export interface TokenAsk {
  readonly inputTokens: number
  readonly outputTokens: number
}

/** What was really used, from the provider's usage (or 0/0 for a request that never reached one). */
export interface TokenUse {
  readonly inputTokens: number
  readonly outputTokens: number
}

/** One rule's standing after the check, for the rate-limit headers. */
export interface RateStatus {
  readonly limit: number
  readonly remaining: number
  /** Until the bucket is full again (OpenAI's "resets to its initial state"). */
  readonly resetMs: number
}

/** The most constraining status of each kind the headers report; absent when no rule of that kind applied. */
export interface RateReport {
  requests?: RateStatus
  tokens?: RateStatus
  inputTokens?: RateStatus
  outputTokens?: RateStatus
}

/**
 * Ends what a check started: replaces the token reservation by `used` (what the provider
 * reported; omit it when the request never reached a provider) and frees concurrency slots.
 * Idempotent: only the first call counts. Never rejects.
 */
export interface Lease {
  finish(used?: TokenUse): void | Promise<void>
}

export interface Admitted extends RateReport {
  readonly ok: true
  readonly lease: Lease
  /** A global limiter that could not reach Redis admitted this through its local fallback. */
  readonly degraded?: boolean
}

/**
 * `limited`: over a limit, retry after `retryAfterMs` (429). `too_large`: the reservation alone
 * exceeds a token rule's whole limit, so no wait helps (429, OpenAI's "Request too large").
 * `unavailable`: the state store could not answer and the limit's failure_mode is closed (503).
 */
export type RefusalReason = 'limited' | 'too_large' | 'unavailable'

export interface Refused extends RateReport {
  readonly ok: false
  readonly reason: RefusalReason
  /** The limit that refused (for logs and the error message). */
  readonly limit: string
  /** The kind of rule that refused (undefined for `unavailable`). */
  readonly kind?: LimitRule['kind']
  readonly retryAfterMs: number
}

export type Decision = Admitted | Refused

/** The engine a `rate_limit` filter calls: local answers synchronously, global with a promise. */
export interface Limiter {
  check(facts: RequestFacts, ask: TokenAsk): Decision | Promise<Decision>
  /** False while the state store is unreachable (for /ready). */
  ready(): boolean
}

/** How a rule's token count is taken from an ask or a use. */
export function tokensFor(count: TokenCount, t: TokenAsk | TokenUse): number {
  return count === 'total' ? t.inputTokens + t.outputTokens : count === 'input' ? t.inputTokens : t.outputTokens
}

/** Stable per-rule key suffix: state stays with (descriptor, kind, period) across reloads that change only the limit. */
export function ruleSuffix(rule: LimitRule): string {
  return rule.kind === 'requests' ? `:req:${rule.periodMs}` : rule.kind === 'tokens' ? `:tok:${rule.count}:${rule.periodMs}` : ':conc'
}

/** Which header family a rule's status feeds. */
export function reportSlot(rule: LimitRule): keyof RateReport | undefined {
  if (rule.kind === 'requests') return 'requests'
  if (rule.kind === 'concurrent') return undefined
  return rule.count === 'total' ? 'tokens' : rule.count === 'input' ? 'inputTokens' : 'outputTokens'
}

/** Keeps the status with the least remaining (relative to its limit): the one a caller runs into first. */
export function tighter(a: RateStatus | undefined, b: RateStatus): RateStatus {
  if (!a) return b
  const ra = a.remaining / a.limit
  const rb = b.remaining / b.limit
  return rb < ra || (rb === ra && b.resetMs > a.resetMs) ? b : a
}
