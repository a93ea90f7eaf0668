/** What `switchyard keys` prints, from a file or from etcd alike: a new key once, a listing without hashes. */
import type { KeyListing, KeyRecord } from '../shared/key-records.js'

export interface CreateOptions {
  readonly tenant: string
  readonly id?: string
  readonly models?: readonly string[]
  readonly expires?: string
}

/** The key alone on stdout (so `KEY=$(switchyard keys create …)` works), the rest on stderr. */
export function announce(key: string, record: KeyRecord, where: string): void {
  console.log(key)
  console.error(`key '${record.id}' for tenant '${record.tenant}' written to ${where} (only its hash). It is shown only this once: store it now.`)
}

export function printListing(keys: readonly KeyListing[]): number {
  const now = Date.now()
  const rows = keys.map((k) => [
    k.id, k.tenant,
    k.disabled ? 'disabled' : k.expires_at !== null && Date.parse(k.expires_at) <= now ? 'expired' : 'active',
    k.models ? k.models.join(',') : '-', k.expires_at ?? '-',
  ])
  const all = [['ID', 'TENANT', 'STATE', 'MODELS', 'EXPIRES'], ...rows]
  const widths = all[0].map((_, i) => Math.max(...all.map((r) => r[i].length)))
  for (const r of all) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd())
  return 0
}

