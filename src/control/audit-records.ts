/**
 * The audit log's records (shared/log.ts audit(): written whatever the level, `"log":"audit"` in
 * JSON): every config this process applies, and every request to the admin API.
 *
 * A config change says which version replaced which, where it came from, what changed by object
 * (`clusters/openai`, `admin`), and for etcd pushes made with `config push` who pushed from which
 * host and why. An admin request says who asked (the TCP peer's address), what, and the answer's
 * status — never a header, so never the token.
 */
import type { HistoryEntry } from './config-history.js'
import { describeChanges } from './config-history.js'
import { audit } from '../shared/log.js'

export function auditConfigChange(e: HistoryEntry, previous: string | undefined): void {
  audit('config change', {
    version: e.version,
    previous_version: previous ?? null,
    source: e.source,
    // One string for people and grep; the three lists for machines.
    changes: describeChanges(e.changes),
    added: e.changes.added,
    removed: e.changes.removed,
    modified: e.changes.modified,
    ...(e.pushed?.user && { pushed_by: `${e.pushed.user}@${e.pushed.host ?? '?'}` }),
    ...(e.pushed?.host && { pushed_from: e.pushed.host }),
    ...(e.pushed?.at && { pushed_at: e.pushed.at }),
    ...(e.pushed?.message && { message: e.pushed.message }),
  })
}

export interface AdminRequest {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly peer: string
  /** Whether the request carried the accepted admin token (false without a token configured). */
  readonly authenticated: boolean
  readonly status: number
  readonly startedAt: number
}

export function auditAdminRequest(r: AdminRequest): void {
  audit('admin request', {
    method: r.method,
    path: r.path,
    ...(r.query !== '' && { query: auditedQuery(r.query) }),
    status: r.status,
    peer: r.peer,
    authenticated: r.authenticated,
    duration_ms: Math.round((performance.now() - r.startedAt) * 10) / 10,
  })
}

/** Query parameters of our own admin endpoints whose values are plain numbers; any other value is masked. */
const PLAIN_QUERY = new Set(['worker', 'seconds'])

function auditedQuery(query: string): string {
  return query.split('&').map((p) => {
    const i = p.indexOf('=')
    return i < 0 || PLAIN_QUERY.has(p.slice(0, i)) ? p : `${p.slice(0, i)}=[redacted]`
  }).join('&')
}
