/**
 * Rates as config writes them (`requests_per_second: 10`, `tokens_per_minute: 40000`,
 * `concurrent_requests: 4`: schemas/limits.schema.json) → the engines' rules. Built once per
 * snapshot; the schema has already checked names and values.
 */
import type { RatesIR } from '../../compiler/ir.js'
import type { LimitRule, TokenCount } from './types.js'

const PERIOD_MS: Readonly<Record<string, number>> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 }
const COUNT: Readonly<Record<string, TokenCount>> = { tokens: 'total', input_tokens: 'input', output_tokens: 'output' }
const RATE = /^(requests|tokens|input_tokens|output_tokens)_per_(second|minute|hour|day)$/

export function rulesOf(rates: RatesIR): LimitRule[] {
  const rules: LimitRule[] = []
  for (const [name, limit] of Object.entries(rates)) {
    if (name === 'concurrent_requests') {
      rules.push({ kind: 'concurrent', limit })
      continue
    }
    const m = RATE.exec(name)
    if (!m) throw new Error(`unknown rate '${name}'`)
    const periodMs = PERIOD_MS[m[2]]
    rules.push(m[1] === 'requests' ? { kind: 'requests', limit, periodMs } : { kind: 'tokens', limit, periodMs, count: COUNT[m[1]] })
  }
  return rules
}

/** Rate field names out of a config object that also holds other fields (a filter's limit entry). */
export function ratesIn(entry: Readonly<Record<string, unknown>>): RatesIR {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(entry)) if ((k === 'concurrent_requests' || RATE.test(k)) && typeof v === 'number') out[k] = v
  return out
}

/** Whether a request's tokens matter to these rules (only then is the body estimated). */
export function countsTokens(rules: readonly LimitRule[]): boolean {
  return rules.some((r) => r.kind === 'tokens')
}
