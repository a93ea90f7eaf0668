/**
 * Cluster state as Prometheus gauges, read at scrape time from the same view as /clusters
 * (cluster-status.ts): process-wide counters from the shared state and active health checks, and
 * what each worker decides alone (breakers, outlier ejections, dynamic weights) counted over the
 * workers, so no label carries a thread id. Endpoints are labelled by name, never by URL.
 */
import type { SnapshotIR } from '../../compiler/ir.js'
import type { MetricJSON, MetricValueJSON } from '../../runtime/telemetry/metric-store.js'

type Obj = Record<string, any>

const BREAKER_STATES = ['closed', 'open', 'half_open'] as const

export function clusterFamilies(ir: SnapshotIR, clusters: Record<string, unknown>): MetricJSON[] {
  const gauge = (name: string, help: string, values: MetricValueJSON[], type: 'gauge' | 'counter' = 'gauge'): MetricJSON => ({ name, help, type, values, aggregator: 'sum' })
  const cInflight: MetricValueJSON[] = []
  const cOverflows: MetricValueJSON[] = []
  const eInflight: MetricValueJSON[] = []
  const eHealth: MetricValueJSON[] = []
  const eEligible: MetricValueJSON[] = []
  const eEjected: MetricValueJSON[] = []
  const breaker: MetricValueJSON[] = []
  const openings: MetricValueJSON[] = []
  const weights: MetricValueJSON[] = []
  const latency: MetricValueJSON[] = []
  for (const c of ir.clusters) {
    const view = clusters[c.name] as Obj | undefined
    if (view === undefined) continue
    if (view.inflight !== undefined) cInflight.push({ labels: { cluster: c.name }, value: view.inflight })
    if (view.overflows !== undefined) cOverflows.push({ labels: { cluster: c.name }, value: view.overflows })
    c.endpoints.forEach((e, i) => {
      const ev = (view.endpoints as Obj[] | undefined)?.[i]
      if (ev === undefined) return
      const labels = { cluster: c.name, endpoint: e.name }
      if (ev.inflight !== undefined) eInflight.push({ labels, value: ev.inflight })
      if (ev.latency_ewma_ms !== undefined) latency.push({ labels, value: ev.latency_ewma_ms / 1000 })
      if (ev.health !== undefined) eHealth.push({ labels, value: ev.health.status === 'healthy' ? 1 : ev.health.status === 'unhealthy' ? 0 : -1 })
      const workers = Object.values((ev.workers ?? {}) as Record<string, Obj>)
      eEligible.push({ labels, value: workers.filter((w) => w.eligible !== false).length })
      if (c.outlier) eEjected.push({ labels, value: workers.filter((w) => w.outlier?.state === 'ejected').length })
      if (c.breaker) {
        for (const state of BREAKER_STATES) breaker.push({ labels: { ...labels, state }, value: workers.filter((w) => w.breaker?.state === state).length })
        openings.push({ labels, value: workers.reduce((n, w) => n + (w.breaker?.openings ?? 0), 0) })
      }
      const dyn = workers.map((w) => w.dynamic_weight).filter((v): v is number => typeof v === 'number')
      if (dyn.length) weights.push({ labels, value: dyn.reduce((a, b) => a + b, 0) / dyn.length })
    })
  }
  return [
    gauge('switchyard_cluster_inflight_requests', 'Upstream requests in flight per cluster, all workers.', cInflight),
    gauge('switchyard_cluster_overflows_total', 'Requests refused because a cluster\'s circuit-breaker limits (max_requests, max_pending) were reached.', cOverflows, 'counter'),
    gauge('switchyard_endpoint_inflight_requests', 'Upstream requests in flight per endpoint, all workers.', eInflight),
    gauge('switchyard_endpoint_latency_ewma_seconds', 'Time to response headers per endpoint, moving average (1/8 per sample).', latency),
    gauge('switchyard_endpoint_health', 'Active health check result: 1 healthy, 0 unhealthy, -1 not yet known (endpoints with a health check only).', eHealth),
    gauge('switchyard_endpoint_eligible_workers', 'Workers that may pick the endpoint now (not ejected, breaker not open, healthy).', eEligible),
    gauge('switchyard_endpoint_ejected_workers', 'Workers whose outlier detection has the endpoint ejected (clusters with outlier_detection only).', eEjected),
    gauge('switchyard_breaker_state', 'Workers whose circuit breaker for the endpoint is in each state (clusters with a circuit_breaker only).', breaker),
    gauge('switchyard_breaker_openings_total', 'Times the endpoint\'s breakers opened, summed over the workers running now.', openings, 'counter'),
    gauge('switchyard_endpoint_dynamic_weight', 'The balancer\'s current weight for the endpoint (dynamic_weighted only), averaged over workers.', weights),
  ]
}
