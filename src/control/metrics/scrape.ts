/**
 * GET /metrics: one Prometheus text page for the whole process. Each worker answers with its
 * series (telemetry/request-metrics.ts), the main thread adds its own (config, reloads, cluster
 * state) and the process's (prom-client's default collectors: CPU, memory, file descriptors,
 * event-loop lag of the main thread), and prom-client's AggregatorRegistry sums series with the
 * same name and labels across workers and renders the text.
 *
 * A worker that is replaced takes its counts with it: the sum drops, which Prometheus's rate()
 * reads as a counter reset (see docs/observability.md).
 */
import { AggregatorRegistry, Registry, collectDefaultMetrics } from 'prom-client'
import type { MetricJSON } from '../../runtime/telemetry/metric-store.js'
import type { WorkerMetricsReport } from '../../runtime/telemetry/request-metrics.js'

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE

/** The main thread's process collectors; one per process (prom-client's collectors are global). */
let processRegistry: Registry | undefined
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

/** Renders the workers' reports and the main thread's families as one exposition page. */
export async function renderMetrics(workers: Iterable<WorkerMetricsReport>, own: readonly MetricJSON[]): Promise<string> {
  const sets: object[][] = []
  for (const w of workers) sets.push(w.families)
  sets.push([...own])
  sets.push(await processMetrics().getMetricsAsJSON())
  return AggregatorRegistry.aggregate(sets).metrics()
}
