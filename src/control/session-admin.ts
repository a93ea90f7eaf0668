/**
 * The admin API's view of conversations (`GET /sessions/<id>`, `DELETE /sessions/<id>`): for every
 * `session` filter of the current config, the conversation a session id (or a stored Responses
 * answer's id) names for one tenant, read from — or removed from — that filter's store: the
 * process's memory stores (held here, on the main thread) or Redis (through the main thread's own
 * connection to the `redis` block, the one limit-usage.ts opens).
 */
import type { SnapshotIR } from '../compiler/ir.js'
import type { SessionMemoryHost } from '../shared/session-memory.js'
import { compileSessionConfig, responseKey, sessionKey, type SessionConfig } from '../runtime/sessions/config.js'
import type { SessionStore } from '../runtime/sessions/session-store.js'
import { RedisSessionStore } from '../runtime/sessions/redis-session-store.js'
import type { RedisConnection } from '../runtime/limits/redis-connection.js'

export interface FoundSession {
  readonly filter: string
  readonly namespace: string
  readonly tenant: string
  /** `session`: named by the session header; `response`: a stored Responses answer's id. */
  readonly kind: 'session' | 'response'
  readonly record: unknown
}

export class SessionAdmin {
  constructor(private readonly host: SessionMemoryHost, private readonly redis: (ir: SnapshotIR) => RedisConnection | undefined) {}

  async find(ir: SnapshotIR, id: string, tenant: string): Promise<FoundSession[]> {
    const out: FoundSession[] = []
    for (const t of this.targets(ir, id, tenant)) {
      const text = await t.store.get(t.key)
      if (text !== undefined) out.push({ filter: t.filter, namespace: t.namespace, tenant, kind: t.kind, record: JSON.parse(text) })
    }
    return out
  }

  async remove(ir: SnapshotIR, id: string, tenant: string): Promise<number> {
    let n = 0
    for (const t of this.targets(ir, id, tenant)) if (await t.store.delete(t.key)) n++
    return n
  }

  /** Every place the id could be, deduplicated (filters sharing a namespace and store share records). */
  private targets(ir: SnapshotIR, id: string, tenant: string) {
    const seen = new Set<string>()
    const out: { filter: string; namespace: string; kind: 'session' | 'response'; key: string; store: SessionStore }[] = []
    for (const f of ir.filters) {
      if (f.type !== 'session') continue
      const c = compileSessionConfig(f.config as SessionConfig)
      let store: SessionStore
      if (c.store === 'redis') {
        const conn = ir.redis !== undefined ? this.redis(ir) : undefined
        if (conn === undefined) continue
        store = new RedisSessionStore(conn, ir.redis!.keyPrefix)
      } else {
        const memory = this.host.store(c.memoryBytes)
        store = {
          // A miss waits one event-loop turn: a worker's write that is already queued on its port lands first.
          get: (k) => {
            const v = memory.get(k)
            return v !== undefined ? Promise.resolve(v) : new Promise((resolve) => setImmediate(() => resolve(memory.get(k))))
          },
          set: (k, v, ttl) => Promise.resolve(memory.set(k, v, ttl)),
          delete: (k) => Promise.resolve(memory.delete(k)),
        }
      }
      for (const [kind, key] of [['session', sessionKey(c, tenant, id)], ['response', responseKey(c, tenant, id)]] as const) {
        const where = `${c.store === 'redis' ? 'redis' : `memory:${c.memoryBytes}`}|${key}`
        if (seen.has(where)) continue
        seen.add(where)
        out.push({ filter: f.name, namespace: c.namespace, kind, key, store })
      }
    }
    return out
  }
}
