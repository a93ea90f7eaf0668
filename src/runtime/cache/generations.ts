/**
 * Invalidation of the Redis tier across hosts, without SCAN + DEL: generation counters in one
 * Redis hash (`<key_prefix>cache:gen`). `DELETE /cache` bumps one field — `*` (everything),
 * `r:<route>`, `t:<tenant>` or `rt:<route>\n<tenant>` — and the epoch field `#` (every bump). An
 * entry is stored with the generations of its owner (the route that filled it and its tenant) as
 * they were when its request looked it up; a lookup serves it only while they are still current,
 * so one HINCRBY invalidates any number of entries on every host at once. Stale entries are left
 * to their TTL.
 *
 * Memory tiers hold no generations: each worker watches the epoch (invalidation-watch.ts) and
 * drops the memory entries a bump covers, and the host that took the DELETE drops its own at once.
 */
/** What an invalidation covers: a route's entries and/or a tenant's ({}: all). The admin's CachePurge. */
export interface CachePurge {
  readonly route?: string
  readonly tenant?: string
}

/** The hash's name under the key prefix. */
export const GEN_KEY = 'cache:gen'
/** The field every bump increments: a watcher polls it alone. */
export const EPOCH_FIELD = '#'

/** The four fields whose values make an owner's generations, in a fixed order. */
export function generationFields(route: string, tenant: string): [string, string, string, string] {
  return ['*', `r:${route}`, `t:${tenant}`, `rt:${route}\n${tenant}`]
}

/** HMGET's answer for generationFields() as one comparable string (absent fields are 0). */
export function generationString(values: readonly (string | null)[]): string {
  return `${values[0] ?? 0}.${values[1] ?? 0}.${values[2] ?? 0}.${values[3] ?? 0}`
}

/** The one field an invalidation bumps. */
export function fieldOf(by: CachePurge): string {
  if (by.route !== undefined && by.tenant !== undefined) return `rt:${by.route}\n${by.tenant}`
  if (by.route !== undefined) return `r:${by.route}`
  if (by.tenant !== undefined) return `t:${by.tenant}`
  return '*'
}

/** The inverse of fieldOf (undefined for the epoch or a field of another format). */
export function purgeOf(field: string): CachePurge | undefined {
  if (field === '*') return {}
  if (field.startsWith('rt:')) {
    const nl = field.indexOf('\n')
    return nl < 0 ? undefined : { route: field.slice(3, nl), tenant: field.slice(nl + 1) }
  }
  if (field.startsWith('r:')) return { route: field.slice(2) }
  if (field.startsWith('t:')) return { tenant: field.slice(2) }
  return undefined
}

/** The fields whose values differ between two HGETALL answers (one missing counts as changed). */
export function changedFields(before: Readonly<Record<string, string>>, now: Readonly<Record<string, string>>): string[] {
  const out: string[] = []
  for (const f of Object.keys(now)) if (f !== EPOCH_FIELD && before[f] !== now[f]) out.push(f)
  for (const f of Object.keys(before)) if (f !== EPOCH_FIELD && !(f in now)) out.push(f)
  return out
}
