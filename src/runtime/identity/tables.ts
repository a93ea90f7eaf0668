/**
 * The identity half of a snapshot: the tenants (labels and allowed models compiled) and the key
 * table, built once from the IR in every worker and handed to the auth filters through their deps.
 * Nothing here holds a secret or a hash that leaves the key table.
 */
import type { KeyIR, TenantIR } from '../../compiler/ir.js'
import { compileKeyTable, type KeyTable } from './key-table.js'
import { compileModelAccess, type ModelAccess } from './model-access.js'

export interface CompiledTenant {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  /** Undefined: every model. */
  readonly models: ModelAccess | undefined
}

export interface IdentityTables {
  readonly tenants: ReadonlyMap<string, CompiledTenant>
  readonly keys: KeyTable
}

export function compileIdentity(tenants: readonly TenantIR[] = [], keys: readonly KeyIR[] = []): IdentityTables {
  const byName = new Map<string, CompiledTenant>()
  for (const t of tenants) {
    byName.set(t.name, Object.freeze({ name: t.name, labels: Object.freeze({ ...t.labels }), models: t.models === undefined ? undefined : compileModelAccess(t.models) }))
  }
  return { tenants: byName, keys: compileKeyTable(keys) }
}
