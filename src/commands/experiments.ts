/**
 * `switchyard experiments`: GET /experiments from a running gateway's admin API, one table per
 * experiment. The numbers are the gateway's (control/metrics/experiments.ts); this only prints them.
 */
import type { ExperimentResult, VariantResult } from '../control/metrics/experiments.js'

const COLUMNS: readonly [string, (v: VariantResult) => string][] = [
  ['variant', (v) => v.variant],
  ['weight', (v) => `${v.weight} (${pct(v.configured_share)})`],
  ['share', (v) => pct(v.observed_share)],
  ['requests', (v) => String(v.requests)],
  ['errors', (v) => `${v.errors} (${pct(v.error_rate)})`],
  ['p50 ms', (v) => num(v.latency_p50_ms)],
  ['p95 ms', (v) => num(v.latency_p95_ms)],
  ['ttft p50 ms', (v) => num(v.ttft_p50_ms)],
  ['tokens in/out', (v) => `${v.input_tokens}/${v.output_tokens}`],
]

export async function experimentsCommand(admin: string, json: boolean): Promise<number> {
  const url = new URL('/experiments', admin)
  const token = process.env.SWITCHYARD_ADMIN_TOKEN
  let res: Response
  try {
    res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) })
  } catch (e) {
    console.error(`switchyard experiments: cannot reach the admin API at ${url.origin} (${(e as Error).cause ?? (e as Error).message})`)
    return 1
  }
  const text = await res.text()
  if (!res.ok) {
    console.error(`switchyard experiments: ${url} answered ${res.status}${res.status === 401 ? ' (set SWITCHYARD_ADMIN_TOKEN to the admin token)' : ''}: ${text.slice(0, 300)}`)
    return 1
  }
  if (json) {
    console.log(text)
    return 0
  }
  const body = JSON.parse(text) as { metrics_enabled: boolean; experiments: ExperimentResult[] }
  console.log(formatExperiments(body.experiments, body.metrics_enabled))
  return 0
}

/** The tables `switchyard experiments` prints. */
export function formatExperiments(experiments: readonly ExperimentResult[], metricsEnabled: boolean): string {
  if (experiments.length === 0) return 'no experiments: the config has no weighted_clusters rule'
  const out: string[] = []
  if (!metricsEnabled) out.push('metrics are off (telemetry.metrics.enabled: false): no observed numbers', '')
  for (const e of experiments) {
    const sticky = e.hash_on === null ? 'random split' : `sticky by ${e.hash_on}`
    out.push(`experiment ${e.name} (route table ${e.route_table}, ${sticky}): ${e.requests} requests`)
    const cols = e.hash_on === null ? COLUMNS : [...COLUMNS, ['distinct keys', (v: VariantResult) => String(v.distinct_keys ?? '-')] as const]
    const rows = [cols.map(([h]) => h), ...e.variants.map((v) => cols.map(([, f]) => f(v)))]
    const widths = cols.map((_, i) => Math.max(...rows.map((r) => r[i].length)))
    for (const r of rows) out.push('  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd())
    out.push('')
  }
  return out.join('\n').trimEnd()
}

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`)
const num = (x: number | null) => (x === null ? '-' : String(x))
