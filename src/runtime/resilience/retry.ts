/**
 * Retry building blocks: which failures to retry, how long to wait, and whether the cluster can
 * afford another retry right now.
 *
 * The budget follows Envoy's retry budgets: at most `budgetPercent`% of the cluster's active
 * requests may be retries, but never fewer than `minRetryConcurrency`, so retries cannot multiply
 * load on an upstream that is already failing (a retry storm). Its two counters live in an
 * Int32Array — a SharedArrayBuffer slot (see shared-state.ts) when all worker threads must share
 * one budget, a private array otherwise — and are only touched with Atomics.
 */
import type { UpstreamFailure } from '../types.js'
import { parseRetryAfter } from './retry-after.js'

export type RetryCondition = 'connect_failure' | 'reset' | 'timeout' | '5xx' | '429' | number

export interface BackoffConfig {
  readonly baseIntervalMs: number
  readonly maxIntervalMs: number
}

export interface RetryBudgetConfig {
  /** Retries allowed as a percentage of active requests (0–100). */
  readonly budgetPercent: number
  /** Retries always allowed concurrently, whatever the percentage gives. */
  readonly minRetryConcurrency: number
}

/** `retry_on` list → predicate over an upstream failure, built once per policy. */
export function compileRetryOn(list: readonly RetryCondition[]): (f: UpstreamFailure) => boolean {
  const kinds = new Set<string>()
  const codes = new Set<number>()
  let any5xx = false
  for (const c of list) {
    if (typeof c === 'number') codes.add(c)
    else if (c === '5xx') any5xx = true
    else if (c === '429') codes.add(429)
    else kinds.add(c)
  }
  return (f) => {
    if (f.kind !== 'status') return kinds.has(f.kind)
    const s = f.status ?? 0
    return codes.has(s) || (any5xx && s >= 500 && s <= 599)
  }
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

/** Cells a RetryBudget occupies: active requests, active retries. */
export const CELLS_PER_RETRY_BUDGET = 2

export class RetryBudget {
  constructor(
    private readonly cells: Int32Array,
    private readonly at: number,
    private readonly config: RetryBudgetConfig,
  ) {}

  /** A budget private to this thread, for tests and when the shared table is full. */
  static local(config: RetryBudgetConfig): RetryBudget {
    return new RetryBudget(new Int32Array(CELLS_PER_RETRY_BUDGET), 0, config)
  }

  get activeRequests(): number {
    return Atomics.load(this.cells, this.at)
  }
  get activeRetries(): number {
    return Atomics.load(this.cells, this.at + 1)
  }

  /** The cluster's request count: call when a request starts using the cluster… */
  requestStarted(): void {
    Atomics.add(this.cells, this.at, 1)
  }
  /** …and when it is done with it. */
  requestFinished(): void {
    Atomics.sub(this.cells, this.at, 1)
  }

  /** Takes a retry slot if the budget allows one; pair a true answer with release(). */
  tryAcquire(): boolean {
    const limit = Math.max(this.config.minRetryConcurrency, Math.floor((this.activeRequests * this.config.budgetPercent) / 100))
    // Compare-and-swap so two threads cannot both take the last slot.
    for (;;) {
      const current = Atomics.load(this.cells, this.at + 1)
      if (current >= limit) return false
      if (Atomics.compareExchange(this.cells, this.at + 1, current, current + 1) === current) return true
    }
  }

  /** Gives back a slot taken by tryAcquire() once the retry attempt is over. */
  release(): void {
    Atomics.sub(this.cells, this.at + 1, 1)
  }
}
