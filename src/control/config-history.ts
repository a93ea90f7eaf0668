/**
 * The last configs this process applied, newest first: when, from where, which objects changed
 * (by kind and name), who pushed it (for etcd pushes that say so), and the effective config
 * itself (secrets shown as their references, literal credentials masked, as /config shows it),
 * so `config diff --from --to` can compare any two. For admin `/config/history`.
 */
import type { SnapshotIR } from '../compiler/ir.js'

/** What `config push --message` stores beside the objects (etcd-layout.ts PUSH_META_KEY). */
export interface PushMeta {
  readonly message?: string
  readonly user?: string
  readonly host?: string
  readonly at?: string
}

export interface Changes {
  /** Object ids as `kind/name` (`clusters/openai`, `keys/k7f2`, `admin`). */
  readonly added: readonly string[]
  readonly removed: readonly string[]
  readonly modified: readonly string[]
}

export interface HistoryEntry {
  readonly version: string
  readonly applied_at: string
  readonly source: string
  /** Against the version applied before it; everything is `added` for the first. */
  readonly changes: Changes
  readonly pushed?: PushMeta
}

const LIST_KINDS = ['listeners', 'routes', 'clusters', 'filters', 'tenants', 'keys', 'models'] as const

/** The effective config as objects by id, each as canonical JSON (for comparing). */
export function objectsOf(effective: unknown): Map<string, string> {
  const out = new Map<string, string>()
  const e = (effective ?? {}) as Record<string, unknown>
  for (const [section, value] of Object.entries(e)) {
    if ((LIST_KINDS as readonly string[]).includes(section) && Array.isArray(value)) {
      for (const item of value as Record<string, unknown>[]) out.set(`${section}/${String(section === 'keys' ? item.id : item.name)}`, JSON.stringify(item))
    } else if (value !== undefined) out.set(section, JSON.stringify(value))
  }
  return out
}

export function changesBetween(before: unknown, after: unknown): Changes {
  const a = objectsOf(before)
  const b = objectsOf(after)
  const added: string[] = []
  const removed: string[] = []
  const modified: string[] = []
  for (const [id, v] of b) {
    const old = a.get(id)
    if (old === undefined) added.push(id)
    else if (old !== v) modified.push(id)
  }
  for (const id of a.keys()) if (!b.has(id)) removed.push(id)
  return { added: added.sort(), removed: removed.sort(), modified: modified.sort() }
}

export function describeChanges(c: Changes): string {
  const part = (sign: string, ids: readonly string[]) => ids.map((id) => `${sign}${id}`)
  const all = [...part('+', c.added), ...part('-', c.removed), ...part('~', c.modified)]
  return all.length === 0 ? 'no object changed' : all.join(' ')
}

export class ConfigHistory {
  private readonly entries: { entry: HistoryEntry; config: unknown }[] = []

  constructor(private readonly limit = 50) {}

  record(ir: SnapshotIR, appliedAt: string, pushed?: PushMeta): HistoryEntry {
    const previous = this.entries[0]?.config
    const entry: HistoryEntry = {
      version: ir.version,
      applied_at: appliedAt,
      source: ir.source,
      changes: changesBetween(previous, ir.effective),
      ...(pushed && { pushed }),
    }
    this.entries.unshift({ entry, config: ir.effective })
    if (this.entries.length > this.limit) this.entries.length = this.limit
    return entry
  }

  list(): HistoryEntry[] {
    return this.entries.map((e) => e.entry)
  }

  get(version: string): { entry: HistoryEntry; config: unknown } | undefined {
    return this.entries.find((e) => e.entry.version === version)
  }
}
