/**
 * Least latency: power of two choices over peak-EWMA cost (Finagle's / linkerd's "peak EWMA").
 * Each endpoint's latency estimate jumps up to any slower sample at once (a peak is believed
 * immediately) and decays toward faster samples with time constant `decayMs`. Between samples
 * the estimate also decays toward zero, so an endpoint that was slow once is tried again rather
 * than starved forever. Cost = estimate × (in-flight + 1): of two endpoints with the same latency
 * the less busy one wins, and a fast endpoint stops winning once its queue makes it slow.
 */
import type { LeastLatencyConfig } from '../../compiler/ir.js'
import type { CompiledEndpoint, LoadBalancer } from '../types.js'

export type { LeastLatencyConfig }

interface Estimate {
  ewma: number
  stamp: number
}

/** Estimates keyed by endpoint key; keep one per cluster in Stores.lbState so it outlives reloads. */
export class LatencyState {
  readonly estimates = new Map<string, Estimate>()

  constructor(readonly config: LeastLatencyConfig) {}

  /** Records a completed request's latency (time to first byte is the useful signal for LLMs). */
  observe(key: string, latencyMs: number, now: number): void {
    const e = this.estimates.get(key)
    if (!e) {
      this.estimates.set(key, { ewma: latencyMs, stamp: now })
      return
    }
    if (latencyMs > e.ewma) e.ewma = latencyMs
    else {
      const w = Math.exp(-Math.max(0, now - e.stamp) / this.config.decayMs)
      e.ewma = e.ewma * w + latencyMs * (1 - w)
    }
    e.stamp = now
  }

  /** The decayed estimate at `now`, without changing state. */
  latency(key: string, now: number): number {
    const e = this.estimates.get(key)
    if (!e) return this.config.defaultLatencyMs
    return e.ewma * Math.exp(-Math.max(0, now - e.stamp) / this.config.decayMs)
  }

  /** Drops estimates of endpoints that are gone. */
  retain(keys: Iterable<string>): void {
    const keep = new Set(keys)
    for (const k of this.estimates.keys()) if (!keep.has(k)) this.estimates.delete(k)
  }
}

export interface LeastLatencyOptions {
  readonly now?: () => number
  readonly random?: () => number
}

// Keeps in-flight counts meaningful when an estimate has decayed to almost nothing.
const MIN_LATENCY_MS = 0.001

export function createLeastLatency(endpoints: readonly CompiledEndpoint[], state: LatencyState, opts: LeastLatencyOptions = {}): LoadBalancer {
  const n = endpoints.length
  if (n === 1) return { pick: () => endpoints[0] }
  const now = opts.now ?? (() => performance.now())
  const random = opts.random ?? Math.random
  const cost = (e: CompiledEndpoint, t: number) => Math.max(MIN_LATENCY_MS, state.latency(e.key, t)) * (e.stats.inflight + 1)
  return {
    pick() {
      const i = (random() * n) | 0
      let j = (random() * (n - 1)) | 0
      if (j >= i) j++
      const a = endpoints[i]
      const b = endpoints[j]
      const t = now()
      return cost(b, t) < cost(a, t) ? b : a
    },
  }
}
