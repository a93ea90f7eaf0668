/**
 * GET /experiments: every `weighted_clusters` rule is an experiment named by the rule, its
 * clusters the variants. Per variant, from the same series as /metrics (labels `route`,
 * `variant`): requests and their observed share beside the configured weight, errors (5xx
 * answers, and requests the client abandoned before a status), latency p50/p95, TTFT p50 (streams),
 * tokens, and for sticky splits (hash_on) the distinct keys the variant has seen (HyperLogLog,
 * ±2 %). Latency quantiles come from the histogram buckets, as histogram_quantile() computes them.
 */
import type { SnapshotIR } from '../../compiler/ir.js'
import type { MetricValueJSON } from '../../runtime/telemetry/metric-store.js'
import type { WorkerMetricsReport } from '../../runtime/telemetry/request-metrics.js'
import { createRegisters, estimate, mergeRegisters } from '../../shared/hyperloglog.js'
import { bucketQuantile } from './quantile.js'

export interface VariantResult {
  readonly variant: string
  readonly weight: number
  /** weight / sum of weights. */
  readonly configured_share: number
  readonly requests: number
  /** requests / the experiment's requests; null before any. */
  readonly observed_share: number | null
  readonly errors: number
  readonly error_rate: number | null
  readonly latency_p50_ms: number | null
  readonly latency_p95_ms: number | null
  readonly ttft_p50_ms: number | null
  readonly input_tokens: number
  readonly output_tokens: number
  /** Sticky splits only. */
  readonly distinct_keys?: number
  /** Under a rollout: the weight the workers pick by now (the configured one moved by the rollout's share). */
  readonly effective_weight?: number
}

export interface ExperimentResult {
  readonly name: string
  readonly route_table: string
  /** The sticky key: `header:<name>`, `tenant`, or null for a random split. */
  readonly hash_on: string | null
  readonly requests: number
  readonly variants: readonly VariantResult[]
}

/** The experiments of `ir`, with what the workers' series say about each variant. */
export function describeExperiments(ir: SnapshotIR, reports: readonly WorkerMetricsReport[], effectiveWeights?: (id: string) => Record<string, number> | undefined): { metrics_enabled: boolean; experiments: ExperimentResult[] } {
  const byName = new Map<string, MetricValueJSON[]>()
  for (const r of reports) for (const f of r.families) byName.set(f.name, [...(byName.get(f.name) ?? []), ...f.values])
  const values = (name: string) => byName.get(name) ?? []
  const experiments: ExperimentResult[] = []
  for (const table of ir.routeTables) {
    for (const rule of table.rules) {
      const a = rule.action
      if (a.kind !== 'weighted') continue
      const route = rule.name
      const total = a.clusters.reduce((n, c) => n + c.weight, 0)
      const sticky = a.hashHeader !== undefined || a.hashTenant === true
      const effective = a.rollout ? effectiveWeights?.(`${table.name}/${route}`) : undefined
      const of = (v: MetricValueJSON, variant: string) => v.labels.route === route && v.labels.variant === variant
      const rows = a.clusters.map((c) => {
        const mine = (name: string) => values(name).filter((v) => of(v, c.name))
        const requests = sum(mine('switchyard_requests_total'))
        const errors = sum(mine('switchyard_requests_total').filter((v) => v.labels.status_class === '5xx' || v.labels.status_class === 'aborted'))
        const duration = buckets(mine('switchyard_request_duration_seconds'))
        const ttft = buckets(mine('gen_ai_server_time_to_first_token_seconds'))
        const tokens = mine('gen_ai_client_token_usage').filter((v) => v.metricName === 'gen_ai_client_token_usage_sum')
        const row = {
          variant: c.name,
          weight: c.weight,
          configured_share: total > 0 ? round(c.weight / total, 4) : 0,
          requests,
          errors,
          error_rate: requests > 0 ? round(errors / requests, 4) : null,
          latency_p50_ms: ms(bucketQuantile(0.5, duration)),
          latency_p95_ms: ms(bucketQuantile(0.95, duration)),
          ttft_p50_ms: ms(bucketQuantile(0.5, ttft)),
          input_tokens: sum(tokens.filter((v) => v.labels.gen_ai_token_type === 'input')),
          output_tokens: sum(tokens.filter((v) => v.labels.gen_ai_token_type === 'output')),
          ...(sticky && { distinct_keys: distinctKeys(reports, route, c.name) }),
          ...(effective && { effective_weight: effective[c.name] }),
        }
        return row
      })
      const requests = rows.reduce((n, r) => n + r.requests, 0)
      experiments.push({
        name: route,
        route_table: table.name,
        hash_on: a.hashHeader !== undefined ? `header:${a.hashHeader}` : a.hashTenant ? 'tenant' : null,
        requests,
        variants: rows.map(({ errors, error_rate, ...r }) => ({ ...r, observed_share: requests > 0 ? round(r.requests / requests, 4) : null, errors, error_rate })),
      })
    }
  }
  return { metrics_enabled: ir.telemetry?.metrics.enabled !== false, experiments }
}

function sum(values: readonly MetricValueJSON[]): number {
  return values.reduce((n, v) => n + v.value, 0)
}

/** The `_bucket` series of one histogram summed into one cumulative list by `le`. */
function buckets(values: readonly MetricValueJSON[]): { le: number; count: number }[] {
  const byLe = new Map<number, number>()
  for (const v of values) {
    if (!v.metricName?.endsWith('_bucket')) continue
    const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le)
    byLe.set(le, (byLe.get(le) ?? 0) + v.value)
  }
  return [...byLe].sort((x, y) => x[0] - y[0]).map(([le, count]) => ({ le, count }))
}

function distinctKeys(reports: readonly WorkerMetricsReport[], route: string, variant: string): number {
  const union = createRegisters()
  for (const r of reports) for (const s of r.sketches) if (s.route === route && s.variant === variant) mergeRegisters(union, s.registers)
  return estimate(union)
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits
const ms = (seconds: number | undefined) => (seconds === undefined ? null : round(seconds * 1000, 1))

