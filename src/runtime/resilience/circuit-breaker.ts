/**
 * Per-endpoint circuit breaker: closed → open → half-open → closed.
 *
 * Closed: every result is counted. It opens on `consecutiveFailures` failures in a row, or when
 * the failure ratio over the last `windowMs` reaches `failureRatio` with at least `minRequests`
 * results in the window. Open: allow() refuses until the open period ends. The period is
 * `openMs × 2^(openings-1)` capped at `maxOpenMs`, so an endpoint that keeps failing its probes is
 * left alone longer; the count of openings is forgotten after the breaker has stayed closed for
 * `maxOpenMs`. Half-open: allow() admits at most `halfOpenProbes` requests at a time; once that
 * many probes have succeeded the breaker closes, and any failure re-opens it.
 *
 * Pure and deterministic: the caller passes `now` (ms, any monotonic clock) to every call.
 */
import type { CircuitBreakerConfig } from '../../compiler/ir.js'

export type { CircuitBreakerConfig }

export type BreakerState = 'closed' | 'open' | 'half_open'
export type TransitionReason = 'consecutive_failures' | 'failure_ratio' | 'open_elapsed' | 'probes_succeeded' | 'probe_failed'

export interface BreakerSnapshot {
  readonly state: BreakerState
  readonly consecutiveFailures: number
  readonly windowRequests: number
  readonly windowFailures: number
  readonly openings: number
  /** When the current open period ends (undefined unless open). */
  readonly openUntil: number | undefined
  readonly probesInFlight: number
}

export interface CircuitBreaker {
  /** Call at admission; in half-open a true answer takes a probe slot. */
  allow(now: number): boolean
  onSuccess(now: number): void
  onFailure(now: number): void
  /** An admitted request ended with no verdict (the client left first): frees its probe slot. */
  abandon(now: number): void
  state(now: number): BreakerState
  /** For the admin API; `now` judges the sliding window. */
  snapshot(now: number): BreakerSnapshot
}

export type TransitionListener = (from: BreakerState, to: BreakerState, reason: TransitionReason) => void

// The window is split into buckets so it slides in steps of windowMs / BUCKETS, in O(BUCKETS).
const BUCKETS = 10

export function createCircuitBreaker(config: CircuitBreakerConfig, onTransition?: TransitionListener): CircuitBreaker {
  const bucketMs = Math.max(1, config.windowMs / BUCKETS)
  const epochs = new Float64Array(BUCKETS).fill(-Infinity)
  const requests = new Int32Array(BUCKETS)
  const failures = new Int32Array(BUCKETS)
  let state: BreakerState = 'closed'
  let consecutive = 0
  let openings = 0
  let openUntil = 0
  let closedAt = -Infinity
  let probesInFlight = 0
  let probeSuccesses = 0

  const move = (to: BreakerState, reason: TransitionReason) => {
    const from = state
    state = to
    onTransition?.(from, to, reason)
  }

  const resetWindow = () => {
    epochs.fill(-Infinity)
    consecutive = 0
  }

  const count = (now: number, failed: boolean) => {
    const epoch = Math.floor(now / bucketMs)
    const i = epoch % BUCKETS
    if (epochs[i] !== epoch) {
      epochs[i] = epoch
      requests[i] = 0
      failures[i] = 0
    }
    requests[i]++
    if (failed) failures[i]++
  }

  const totals = (now: number) => {
    const oldest = Math.floor(now / bucketMs) - BUCKETS + 1
    let r = 0
    let f = 0
    for (let i = 0; i < BUCKETS; i++) {
      if (epochs[i] < oldest) continue
      r += requests[i]
      f += failures[i]
    }
    return { r, f }
  }

  const open = (now: number, reason: TransitionReason) => {
    if (state === 'closed' && now - closedAt >= config.maxOpenMs) openings = 0
    openings++
    openUntil = now + Math.min(config.maxOpenMs, config.openMs * 2 ** (openings - 1))
    probesInFlight = 0
    probeSuccesses = 0
    resetWindow()
    move('open', reason)
  }

  const advance = (now: number) => {
    if (state === 'open' && now >= openUntil) move('half_open', 'open_elapsed')
  }

  return {
    allow(now) {
      advance(now)
      if (state === 'closed') return true
      if (state === 'open' || probesInFlight >= config.halfOpenProbes) return false
      probesInFlight++
      return true
    },
    onSuccess(now) {
      advance(now)
      if (state === 'closed') {
        consecutive = 0
        count(now, false)
      } else if (state === 'half_open') {
        // A result arriving in half-open is taken as a probe's: requests admitted while closed
        // have almost always finished by the time the open period is over.
        if (probesInFlight > 0) probesInFlight--
        if (++probeSuccesses >= config.halfOpenProbes) {
          closedAt = now
          resetWindow()
          move('closed', 'probes_succeeded')
        }
      }
    },
    abandon(now) {
      advance(now)
      if (state === 'half_open' && probesInFlight > 0) probesInFlight--
    },
    onFailure(now) {
      advance(now)
      if (state === 'half_open') return open(now, 'probe_failed')
      if (state === 'open') return
      consecutive++
      count(now, true)
      if (config.consecutiveFailures > 0 && consecutive >= config.consecutiveFailures) return open(now, 'consecutive_failures')
      if (config.failureRatio > 0) {
        const { r, f } = totals(now)
        if (r >= config.minRequests && f / r >= config.failureRatio) open(now, 'failure_ratio')
      }
    },
    state(now) {
      advance(now)
      return state
    },
    snapshot(now) {
      advance(now)
      const { r, f } = totals(now)
      return {
        state,
        consecutiveFailures: consecutive,
        windowRequests: r,
        windowFailures: f,
        openings,
        openUntil: state === 'open' ? openUntil : undefined,
        probesInFlight,
      }
    },
  }
}
