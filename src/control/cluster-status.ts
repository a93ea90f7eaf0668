/**
 * The admin API's /clusters: one entry per cluster of the current config, its endpoints in config
 * order. Process-wide numbers come from the main thread (shared counters, active health checks,
 * load scrapes); what each worker decides alone (outlier and breaker eligibility, balancer state,
 * its connections) comes from that worker's reply, under `workers["worker-<id>"]`.
 */
import type { SnapshotIR } from '../compiler/ir.js'
import type { HealthChecks } from './health-checks.js'
import type { LoadScrapes } from './load-scrapes.js'
import { clusterStatsAt, endpointStatsAt } from '../shared/shared-state.js'

/** What one view of /clusters is made of, all read at the same moment. */
export interface ClusterStatusInputs {
  readonly ir: SnapshotIR
  /** The shared-state slot of every `cluster:<name>` and `<name>|<url>` key of `ir`. */
  readonly slots: Record<string, number>
  readonly cells: Int32Array
  /** Active health checks, per cluster, per `<name>|<url>` key. */
  readonly health: ReturnType<HealthChecks['snapshot']>
  /** Metrics scrapes, per cluster, per `<name>|<url>` key. */
  readonly loads: ReturnType<LoadScrapes['snapshot']>
  /** WorkerPool.queryClusters(): per worker id, per cluster, per endpoint url. */
  readonly workers: ReadonlyMap<number, Record<string, unknown>>
}

export function describeClusters({ ir, slots, cells, health, loads, workers }: ClusterStatusInputs): Record<string, unknown> {
  const perWorker = [...workers].map(([id, data]) => [`worker-${id}`, data] as const)
  const out: Record<string, unknown> = {}
  for (const c of ir.clusters) {
    const cs = clusterStatsAt(cells, slots[`cluster:${c.name}`])
    out[c.name] = {
      provider: c.provider,
      lb: c.lb,
      ...(cs && { inflight: cs.inflight, active_retries: cs.retries, overflows: cs.overflows }),
      ...(c.discovery && { discovery: { etcd: c.discovery.etcdEndpoints.join(','), prefix: c.discovery.prefix, registered: c.discovery.registered } }),
      endpoints: c.endpoints.map((e) => {
        const key = `${c.name}|${e.url}`
        const s = endpointStatsAt(cells, slots[key])
        // A worker on another snapshot may not know this endpoint: it counts as eligible there.
        return {
          url: e.url,
          weight: e.weight,
          ...(s && { inflight: s.inflight, requests: s.requests, failures: s.failures, ...(s.latencyEwmaMs !== undefined && { latency_ewma_ms: +s.latencyEwmaMs.toFixed(2) }) }),
          ...(health[c.name]?.[key] && { health: health[c.name][key] }),
          ...(loads[c.name]?.[key] && { load_scrape: loads[c.name][key] }),
          workers: Object.fromEntries(perWorker.map(([w, d]) => [w, (d[c.name] as Record<string, unknown> | undefined)?.[e.url] ?? { eligible: true, reasons: [] }])),
        }
      }),
    }
  }
  return out
}
