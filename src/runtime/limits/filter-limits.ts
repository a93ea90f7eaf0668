/**
 * A rate_limit filter's `limits` config → compiled limits. Shared by the filter (worker threads)
 * and the admin API's usage view (main thread), so both key the same buckets the same way.
 */
import { compileDescriptor, type DescriptorPart } from './descriptor.js'
import type { FilterLimit } from './limiter-set.js'
import { ratesIn, rulesOf } from './rates.js'

export interface LimitConfig extends Readonly<Record<string, unknown>> {
  readonly name: string
  readonly descriptor?: readonly (string | { readonly header: string })[]
  readonly tenant_labels?: Readonly<Record<string, string>>
}

export interface RateLimitConfig {
  readonly scope?: 'local' | 'global'
  readonly failure_mode?: 'open' | 'closed'
  readonly default_max_output_tokens?: number
  readonly tenant_limits?: boolean
  readonly limits?: readonly LimitConfig[]
}

export function compileFilterLimits(limits: readonly LimitConfig[], prefix: string): FilterLimit[] {
  const names = new Set<string>()
  return limits.map((l) => {
    if (names.has(l.name)) throw new Error(`limit '${l.name}' is defined twice`)
    names.add(l.name)
    const rules = rulesOf(ratesIn(l))
    if (rules.length === 0) throw new Error(`limit '${l.name}' has no rate (e.g. requests_per_second: 10)`)
    const parts: DescriptorPart[] = (l.descriptor ?? []).map((p) => (typeof p === 'string' ? (p as DescriptorPart) : { header: p.header }))
    return { limit: { name: l.name, keyOf: compileDescriptor(l.name, parts, prefix), rules }, tenantLabels: l.tenant_labels, parts }
  })
}
