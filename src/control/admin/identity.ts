/**
 * The admin API's views of identity (`/tenants`, `/keys`) and its own authentication
 * (`admin.token`). The views are built from the IR and name keys by id only: no hash, no secret.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { SnapshotIR } from '../../compiler/ir.js'

export function describeTenants(ir: SnapshotIR) {
  const keys = new Map<string, number>()
  for (const k of ir.keys ?? []) keys.set(k.tenant, (keys.get(k.tenant) ?? 0) + 1)
  return { tenants: (ir.tenants ?? []).map((t) => ({ name: t.name, labels: t.labels, models: t.models ?? null, keys: keys.get(t.name) ?? 0, limits: t.limits ?? null, budget: t.budget ?? null })) }
}

export function describeKeys(ir: SnapshotIR, nowMs: number) {
  return {
    keys: (ir.keys ?? []).map((k) => {
      const expires = k.expiresAt === undefined ? undefined : Date.parse(k.expiresAt)
      const state = k.disabled ? 'disabled' : expires !== undefined && nowMs >= expires ? 'expired' : 'active'
      return { id: k.id, tenant: k.tenant, models: k.models ?? null, expires_at: expires === undefined ? null : new Date(expires).toISOString(), state, limits: k.limits ?? null, budget: k.budget ?? null }
    }),
  }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest()

/**
 * Whether an `Authorization` header carries `Bearer <token>`. Both sides are hashed first, so the
 * comparison is constant-time whatever the lengths.
 */
export function adminTokenAccepted(authorization: string, token: string): boolean {
  const m = /^bearer +(.+)$/i.exec(authorization.trim())
  if (!m) return false
  return timingSafeEqual(digest(m[1]), digest(token))
}
