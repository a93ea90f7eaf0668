/**
 * Which endpoints of a cluster may take a request right now: active health (from the main
 * thread, via the shared counters), passive outlier state (ejections, 429 cooldowns) and the
 * per-endpoint breaker. Built per snapshot (build/clusters.ts); its state lives in the stores, keyed by
 * cluster/endpoint and config, so a reload that leaves them unchanged keeps it.
 */
import type { ClusterIR } from '../../compiler/ir.js'
import type { CompiledEndpoint, EndpointGuard, Stores } from '../types.js'
import { createCircuitBreaker, type CircuitBreaker } from './circuit-breaker.js'
import { createOutlierDetector, type OutlierDetector } from './outlier-detector.js'
import type { LatencyState } from '../lb/least-latency.js'
import { log } from '../../shared/log.js'

export const HEALTH_UNHEALTHY = 2

export function createEndpointGuard(c: ClusterIR, endpoints: readonly CompiledEndpoint[], stores: Stores, latency: LatencyState | undefined): EndpointGuard | undefined {
  const health = c.healthCheck !== undefined
  if (!health && !c.outlier && !c.breaker && !latency) return undefined
  const keys = endpoints.map((e) => e.key)
  let outliers: OutlierDetector | undefined
  if (c.outlier) {
    const cfg = c.outlier
    outliers = stores.lbState(`outliers|${c.name}|${JSON.stringify(cfg)}`, () =>
      createOutlierDetector(cfg, keys, (key, reason, until) => log('warn', 'endpoint ejected', { endpoint: key, reason, for_ms: until - Date.now() })))
    outliers.update(keys)
  }
  const breakers = new Map<CompiledEndpoint, CircuitBreaker>()
  if (c.breaker) {
    const cfg = c.breaker
    for (const e of endpoints) {
      breakers.set(e, stores.lbState(`breaker|${e.key}|${JSON.stringify(cfg)}`, () => {
        const b: CircuitBreaker = createCircuitBreaker(cfg, (from, to, reason) => {
          log(to === 'closed' ? 'info' : 'warn', 'circuit breaker', { endpoint: e.key, from, to, reason })
          // The breaker moves to half-open lazily, on its next look; look when the period ends so
          // the log (and /clusters) show the transition when it happens, not at the next request.
          const until = to === 'open' ? b.snapshot(performance.now()).openUntil : undefined
          if (until !== undefined) setTimeout(() => b.state(performance.now()), Math.max(0, until - performance.now()) + 1).unref()
        })
        return b
      }))
    }
  }
  return {
    eligible(e) {
      if (health && e.stats.health === HEALTH_UNHEALTHY) return false
      if (outliers && !outliers.eligible(e.key, Date.now()).ok) return false
      const b = breakers.get(e)
      return b === undefined || b.state(performance.now()) !== 'open'
    },
    take(e) {
      if (health && e.stats.health === HEALTH_UNHEALTHY) return false
      if (outliers && !outliers.eligible(e.key, Date.now()).ok) return false
      // allow() refuses while open and takes a probe slot when half-open.
      const b = breakers.get(e)
      return b === undefined || b.allow(performance.now())
    },
    record(e, outcome) {
      outliers?.record(e.key, outcome, Date.now())
      const b = breakers.get(e)
      if (b) {
        // A 429 is the upstream protecting itself, not ill health.
        if (outcome.kind === 'http5xx' || outcome.kind === 'gateway_error') b.onFailure(performance.now())
        else if (outcome.kind === 'success') b.onSuccess(performance.now())
      }
      if (latency && (outcome.kind === 'success' || outcome.kind === 'http5xx') && outcome.latencyMs !== undefined) {
        latency.observe(e.key, outcome.latencyMs, performance.now())
      }
    },
    abandon(e) {
      breakers.get(e)?.abandon(performance.now())
    },
    describe() {
      const now = Date.now()
      const out: Record<string, unknown> = {}
      const o = outliers?.snapshot(now)
      for (const e of endpoints) {
        const b = breakers.get(e)
        const outlier = o?.[e.key]
        const reasons: string[] = []
        if (health && e.stats.health === HEALTH_UNHEALTHY) reasons.push('health_check')
        if (outlier && outlier.state !== 'active') reasons.push(outlier.state)
        if (b && b.state(performance.now()) === 'open') reasons.push('breaker_open')
        out[e.url] = {
          eligible: reasons.length === 0,
          reasons,
          ...(outlier && { outlier }),
          ...(b && { breaker: breakerView(b, now) }),
          ...(latency && { latency_ms: latency.latency(e.key, performance.now()) }),
        }
      }
      return out
    },
  }
}

/** The breaker's snapshot with its open-until on the wall clock (epoch ms), like the outlier's. */
function breakerView(b: CircuitBreaker, now: number): Record<string, unknown> {
  const mono = performance.now()
  const snap = b.snapshot(mono)
  return { ...snap, openUntil: snap.openUntil === undefined ? undefined : Math.round(now + (snap.openUntil - mono)) }
}
