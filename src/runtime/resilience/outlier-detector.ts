/**
 * Passive outlier detection for one cluster, over its endpoint keys (Envoy's outlier detection,
 * trimmed to what an LLM gateway sees).
 *
 * - `consecutive5xx` 5xx answers in a row, or `consecutiveGatewayErrors` connect failures /
 *   resets / timeouts in a row, eject the endpoint. A gateway error also counts as a 5xx (the
 *   client would have seen a 502/504); a 5xx that is not a gateway error resets the gateway count.
 * - Latency: an endpoint whose EWMA latency exceeds `latencyFactor` × the median EWMA of the
 *   cluster is ejected, once it and at least `latencyMinEndpoints` endpoints have
 *   `latencyMinSamples` samples each.
 * - Ejection lasts `baseEjectionMs` × times ejected, capped at `maxEjectionMs`; the count drops by
 *   one for every `maxEjectionMs` spent without an ejection, so a long-healthy endpoint starts over.
 * - At most `maxEjectionPercent` of the endpoints are ejected at once (at least one may be, and
 *   at least one always stays): detection must not turn a cluster-wide outage into "no endpoint".
 * - A 429 never ejects: it is the upstream asking for a pause, so the endpoint cools down for its
 *   Retry-After (capped at `maxCooldownMs`; `defaultCooldownMs` when absent or unreadable).
 *
 * `now` is epoch ms (Date.now()) because Retry-After may be an HTTP-date.
 */
import { parseRetryAfter } from './retry.js'
import type { OutlierDetectionConfig } from '../../compiler/ir.js'
import type { Outcome } from '../types.js'

export type { OutlierDetectionConfig, Outcome }

export type Eligibility = { readonly ok: true } | { readonly ok: false; readonly reason: 'ejected' | 'cooldown'; readonly until: number }

export type EjectionReason = 'consecutive_5xx' | 'consecutive_gateway_errors' | 'latency'

export interface EndpointOutlierState {
  readonly state: 'active' | 'ejected' | 'cooldown'
  readonly until: number | undefined
  /** Why the current ejection happened (also logged); absent when not ejected. */
  readonly ejectedFor?: EjectionReason
  /** The latency average that got it ejected, when that was the reason. */
  readonly ejectedLatencyMs?: number
  readonly ejections: number
  readonly consecutive5xx: number
  readonly consecutiveGatewayErrors: number
  readonly latencyEwmaMs: number | undefined
  readonly latencySamples: number
}

export interface OutlierDetector {
  record(key: string, outcome: Outcome, now: number): void
  eligible(key: string, now: number): Eligibility
  /** Reload: keep state of surviving keys, forget removed ones, add new ones. */
  update(keys: readonly string[]): void
  snapshot(now: number): Record<string, EndpointOutlierState>
}

interface Entry {
  c5xx: number
  cGateway: number
  ewma: number
  samples: number
  ejections: number
  ejectedUntil: number
  cooldownUntil: number
  reason: EjectionReason | undefined
  reasonLatencyMs: number | undefined
}

const fresh = (): Entry => ({ c5xx: 0, cGateway: 0, ewma: 0, samples: 0, ejections: 0, ejectedUntil: 0, cooldownUntil: 0, reason: undefined, reasonLatencyMs: undefined })

const ELIGIBLE: Eligibility = Object.freeze({ ok: true })
const MEDIAN_EVERY_MS = 100

export function createOutlierDetector(
  config: OutlierDetectionConfig,
  keys: readonly string[],
  onEject?: (key: string, reason: EjectionReason, until: number) => void,
): OutlierDetector {
  let entries = new Map<string, Entry>(keys.map((k) => [k, fresh()]))

  const ejectedCount = (now: number) => {
    let n = 0
    for (const e of entries.values()) if (e.ejectedUntil > now) n++
    return n
  }

  const eject = (key: string, e: Entry, reason: EjectionReason, now: number) => {
    const n = entries.size
    const allowed = Math.min(n - 1, Math.max(1, Math.floor((n * config.maxEjectionPercent) / 100)))
    if (ejectedCount(now) >= allowed) return
    const decay = e.ejectedUntil > 0 ? Math.floor((now - e.ejectedUntil) / config.maxEjectionMs) : 0
    e.ejections = Math.max(0, e.ejections - Math.max(0, decay)) + 1
    e.ejectedUntil = now + Math.min(config.maxEjectionMs, config.baseEjectionMs * e.ejections)
    e.reason = reason
    e.reasonLatencyMs = reason === 'latency' ? Math.round(e.ewma) : undefined
    // It comes back with a clean slate: judged on what it does after the ejection.
    e.c5xx = 0
    e.cGateway = 0
    e.samples = 0
    e.ewma = 0
    onEject?.(key, reason, e.ejectedUntil)
  }

  // The median is re-read at most every MEDIAN_EVERY_MS, not on every response: it moves slowly
  // (EWMAs of several endpoints) and sorting per request is a hot-path cost for nothing.
  let medianAt = -Infinity
  let medianCached: number | undefined
  const medianNow = (now: number): number | undefined => {
    if (entries.size < config.latencyMinEndpoints) return undefined
    // Until enough endpoints have samples there is no median yet: look again on every response.
    if (medianCached === undefined || now - medianAt >= MEDIAN_EVERY_MS || now < medianAt) {
      medianAt = now
      medianCached = median()
    }
    return medianCached
  }

  const median = (): number | undefined => {
    const values: number[] = []
    for (const e of entries.values()) if (e.samples >= config.latencyMinSamples) values.push(e.ewma)
    if (values.length < config.latencyMinEndpoints) return undefined
    values.sort((a, b) => a - b)
    const mid = values.length >> 1
    return values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2
  }

  const sample = (e: Entry, ms: number) => {
    e.ewma = e.samples === 0 ? ms : e.ewma + config.latencyAlpha * (ms - e.ewma)
    e.samples++
  }

  return {
    record(key, outcome, now) {
      const e = entries.get(key)
      if (!e || e.ejectedUntil > now) return
      switch (outcome.kind) {
        case 'rate_limited': {
          const ms = parseRetryAfter(outcome.retryAfter, now) ?? config.defaultCooldownMs
          e.cooldownUntil = now + Math.min(ms, config.maxCooldownMs)
          return
        }
        case 'gateway_error':
          e.cGateway++
          e.c5xx++
          break
        case 'http5xx':
          e.cGateway = 0
          e.c5xx++
          break
        case 'success':
          e.cGateway = 0
          e.c5xx = 0
      }
      if (config.consecutiveGatewayErrors > 0 && e.cGateway >= config.consecutiveGatewayErrors) return eject(key, e, 'consecutive_gateway_errors', now)
      if (config.consecutive5xx > 0 && e.c5xx >= config.consecutive5xx) return eject(key, e, 'consecutive_5xx', now)
      if (outcome.kind === 'gateway_error' || outcome.latencyMs === undefined || config.latencyFactor <= 0) return
      sample(e, outcome.latencyMs)
      if (e.samples < config.latencyMinSamples) return
      const m = medianNow(now)
      if (m !== undefined && e.ewma > config.latencyFactor * m) eject(key, e, 'latency', now)
    },

    eligible(key, now) {
      const e = entries.get(key)
      if (!e) return ELIGIBLE
      if (e.ejectedUntil > now) return { ok: false, reason: 'ejected', until: e.ejectedUntil }
      if (e.cooldownUntil > now) return { ok: false, reason: 'cooldown', until: e.cooldownUntil }
      return ELIGIBLE
    },

    update(next) {
      entries = new Map(next.map((k) => [k, entries.get(k) ?? fresh()]))
    },

    snapshot(now) {
      const out: Record<string, EndpointOutlierState> = {}
      for (const [key, e] of entries) {
        const ejected = e.ejectedUntil > now
        const cooling = !ejected && e.cooldownUntil > now
        out[key] = {
          state: ejected ? 'ejected' : cooling ? 'cooldown' : 'active',
          until: ejected ? e.ejectedUntil : cooling ? e.cooldownUntil : undefined,
          ...(ejected && e.reason !== undefined && { ejectedFor: e.reason }),
          ...(ejected && e.reasonLatencyMs !== undefined && { ejectedLatencyMs: e.reasonLatencyMs }),
          ejections: e.ejections,
          consecutive5xx: e.c5xx,
          consecutiveGatewayErrors: e.cGateway,
          latencyEwmaMs: e.samples > 0 ? e.ewma : undefined,
          latencySamples: e.samples,
        }
      }
      return out
    },
  }
}
