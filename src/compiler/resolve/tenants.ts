/** Tenants: names (unique, checked by merge), labels, the models their callers may use, their rates and budget. */
import type { TenantIR } from '../ir.js'
import type { ResolveContext } from './context.js'
import type { MergedConfig } from './merge.js'

export function resolveTenants(config: MergedConfig, ctx: ResolveContext): TenantIR[] {
  const out: TenantIR[] = []
  for (const [name, t] of config.tenants) {
    ctx.positions.record(['tenants', out.length], t)
    const v = t.value
    out.push({
      name,
      labels: { ...(v.labels ?? {}) },
      ...(v.models !== undefined && { models: [...v.models] }),
      ...(v.limits !== undefined && { limits: { ...v.limits } }),
      ...(v.budget !== undefined && { budget: { ...v.budget } }),
    })
  }
  return out
}
