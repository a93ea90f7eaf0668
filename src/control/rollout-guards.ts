/**
 * A rollout step's window and its guards: the per-variant counters of the workers' metrics
 * (the series /experiments reads) taken at the step's start and now, their difference, and the
 * verdict on the candidate against the baseline over that difference. Pure: rollouts.ts does the
 * timing and the acting.
 */
import type { RolloutIR } from '../compiler/ir.js'
import type { WorkerMetricsReport } from '../runtime/telemetry/request-metrics.js'
import { bucketQuantile } from './metrics/quantile.js'

/** One variant's counters, summed over workers: totals and cumulative histogram buckets by bound. */
export interface VariantCounters {
  readonly requests: number
  readonly errors: number
  readonly duration: ReadonlyMap<number, number>
  readonly ttft: ReadonlyMap<number, number>
}

/** What a window says about one variant, as logged and shown by /rollouts. */
export interface WindowNumbers {
  readonly requests: number
  readonly errors: number
  readonly error_rate: number | null
  readonly latency_p95_ms: number | null
  readonly ttft_p95_ms: number | null
}

export function variantCounters(reports: Iterable<WorkerMetricsReport>, route: string, variant: string): VariantCounters {
  let requests = 0
  let errors = 0
  const duration = new Map<number, number>()
  const ttft = new Map<number, number>()
  for (const r of reports) {
    for (const f of r.families) {
      const into = f.name === 'switchyard_request_duration_seconds' ? duration : f.name === 'gen_ai_server_time_to_first_token_seconds' ? ttft : undefined
      if (f.name !== 'switchyard_requests_total' && into === undefined) continue
      for (const v of f.values) {
        if (v.labels.route !== route || v.labels.variant !== variant) continue
        if (into === undefined) {
          requests += v.value
          if (v.labels.status_class === '5xx' || v.labels.status_class === 'aborted') errors += v.value
        } else if (v.metricName?.endsWith('_bucket')) {
          const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le)
          into.set(le, (into.get(le) ?? 0) + v.value)
        }
      }
    }
  }
  return { requests, errors, duration, ttft }
}

/** `now - start`, never below 0 (a replaced worker takes its counts with it). */
export function windowOf(now: VariantCounters, start: VariantCounters): VariantCounters {
  const minus = (a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>) => new Map([...a].map(([le, n]) => [le, Math.max(0, n - (b.get(le) ?? 0))]))
  return { requests: Math.max(0, now.requests - start.requests), errors: Math.max(0, now.errors - start.errors), duration: minus(now.duration, start.duration), ttft: minus(now.ttft, start.ttft) }
}

export function numbersOf(w: VariantCounters): WindowNumbers {
  const p95 = (m: ReadonlyMap<number, number>) => {
    const q = bucketQuantile(0.95, [...m].sort((x, y) => x[0] - y[0]).map(([le, count]) => ({ le, count })))
    return q === undefined ? null : round(q * 1000, 1)
  }
  return { requests: w.requests, errors: w.errors, error_rate: w.requests > 0 ? round(w.errors / w.requests, 4) : null, latency_p95_ms: p95(w.duration), ttft_p95_ms: p95(w.ttft) }
}

export interface Verdict {
  /** The candidate has served `min_requests` in the window: the guards were judged. */
  readonly judged: boolean
  /** Each breached guard, worded with its numbers; empty when all hold. */
  readonly breaches: readonly string[]
}

/**
 * The guards over one window. A ratio guard needs both sides to have a p95 (the baseline serves
 * nothing at a 100 % step, so only absolute guards are judged there).
 */
export function judge(guards: RolloutIR['guards'], candidate: WindowNumbers, baseline: WindowNumbers): Verdict {
  if (candidate.requests < guards.minRequests) return { judged: false, breaches: [] }
  const breaches: string[] = []
  const er = guards.maxErrorRate
  if (er && candidate.error_rate !== null) {
    if ('absolute' in er) {
      if (candidate.error_rate > er.absolute) breaches.push(`error rate ${pct(candidate.error_rate)} (${candidate.errors}/${candidate.requests}) > max ${pct(er.absolute)}`)
    } else if (baseline.error_rate !== null || baseline.requests === 0) {
      const limit = (baseline.error_rate ?? 0) + er.overBaseline
      if (candidate.error_rate > limit) breaches.push(`error rate ${pct(candidate.error_rate)} (${candidate.errors}/${candidate.requests}) > baseline ${pct(baseline.error_rate ?? 0)} (${baseline.errors}/${baseline.requests}) + ${pct(er.overBaseline)}`)
    }
  }
  const ratio = (name: string, max: number | undefined, c: number | null, b: number | null) => {
    if (max === undefined || c === null || b === null || b <= 0) return
    if (c / b > max) breaches.push(`${name} ${c} ms is ${round(c / b, 2)}x the baseline's ${b} ms > max ${max}x`)
  }
  ratio('p95 latency', guards.maxP95LatencyRatio, candidate.latency_p95_ms, baseline.latency_p95_ms)
  ratio('p95 TTFT', guards.maxP95TtftRatio, candidate.ttft_p95_ms, baseline.ttft_p95_ms)
  return { judged: true, breaches }
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits
const pct = (x: number) => `${round(x * 100, 2)}%`
