/**
 * The identity half of a snapshot: the tenants (labels and allowed models compiled) and the key
 * table, built once from the IR in every worker and handed to the auth filters through their deps.
 * Nothing here holds a secret or a hash that leaves the key table.
 */
import type { BudgetIR, KeyIR, RatesIR, TenantIR } from '../../compiler/ir.js'
import { compileKeyTable, type KeyTable } from './key-table.js'
import { compileModelAccess, type ModelAccess } from './model-access.js'

export interface CompiledTenant {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  /** Undefined: every model. */
  readonly models: ModelAccess | undefined
  /** The tenant's own rates and budget (the rate_limit filter builds its limiters from them). */
  readonly limits: RatesIR | undefined
  readonly budget: BudgetIR | undefined
}

/** A key's own rates and budget, by key id (only keys that have either). */
export interface KeyQuota {
  readonly limits: RatesIR | undefined
  readonly budget: BudgetIR | undefined
}

export interface IdentityTables {
  readonly tenants: ReadonlyMap<string, CompiledTenant>
  readonly keys: KeyTable
  readonly keyQuotas: ReadonlyMap<string, KeyQuota>
}

export function compileIdentity(tenants: readonly TenantIR[] = [], keys: readonly KeyIR[] = []): IdentityTables {
  const byName = new Map<string, CompiledTenant>()
  for (const t of tenants) {
    byName.set(t.name, Object.freeze({
      name: t.name,
      labels: Object.freeze({ ...t.labels }),
      models: t.models === undefined ? undefined : compileModelAccess(t.models),
      limits: t.limits,
      budget: t.budget,
    }))
  }
  const keyQuotas = new Map<string, KeyQuota>()
  for (const k of keys) if (k.limits !== undefined || k.budget !== undefined) keyQuotas.set(k.id, { limits: k.limits, budget: k.budget })
  return { tenants: byName, keys: compileKeyTable(keys), keyQuotas }
}
