/**
 * Where the `session` filter keeps conversations: the process's memory store (reached over the
 * worker's port to the main thread, or held directly where there is no main thread: dry builds,
 * in-process tests) or Redis (shared by every host: redis-session-store.ts). All three answer the same three calls, each
 * bounded by a timeout: a store that cannot answer rejects with SessionStoreUnavailable, and the
 * filter refuses the turn (503) rather than answer it without its history.
 */
import type { MessagePort } from 'node:worker_threads'
import { SessionMemory, type SessionReply, type SessionRequest } from '../../shared/session-memory.js'

/**
 * `turn`: the request that reads the conversation will write it back (or release it): a store that
 * is shared by threads serves that conversation's next turn only after (see session-memory.ts).
 * Stores without that ordering ignore it.
 */
export interface TurnToken {
  readonly token: string
  readonly leaseMs: number
}

export interface SessionStore {
  /** `expectMs`: the caller knows the record was written (a previous_response_id): a store shared by threads waits that long on a miss for the write to land. */
  get(key: string, turn?: TurnToken, expectMs?: number): Promise<string | undefined>
  set(key: string, value: string, ttlMs: number, turn?: TurnToken): Promise<void>
  delete(key: string): Promise<boolean>
  /** The turn opened by get(key, turn) ended without a write. */
  release?(key: string, turn: TurnToken): void
}

export class SessionStoreUnavailable extends Error {}

/** The memory store in this thread (no main thread to ask). */
export class LocalSessionStore implements SessionStore {
  constructor(readonly memory: SessionMemory) {}
  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.memory.get(key))
  }
  set(key: string, value: string, ttlMs: number): Promise<void> {
    this.memory.set(key, value, ttlMs)
    return Promise.resolve()
  }
  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.memory.delete(key))
  }
}

/**
 * The process's memory store of `maxBytes`, held by the main thread. One port per worker is shared
 * by every filter of that worker; replies come back in order, matched by id.
 */
export class PortSessionChannel {
  private readonly pending = new Map<number, { resolve(r: SessionReply): void; timer: NodeJS.Timeout }>()
  private next = 0

  constructor(private readonly port: MessagePort, private readonly timeoutMs = 1000) {
    port.on('message', (r: SessionReply) => {
      const p = this.pending.get(r.id)
      if (p === undefined) return
      this.pending.delete(r.id)
      clearTimeout(p.timer)
      p.resolve(r)
    })
    // A worker with no pending call must still be able to exit.
    port.unref()
  }

  /** `waitMs`: a locking get may wait for the conversation's open turn, up to its lease. */
  call(m: Omit<SessionRequest, 'id'>, waitMs = 0): Promise<SessionReply> {
    const id = ++this.next
    const ms = this.timeoutMs + waitMs
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new SessionStoreUnavailable(`the session memory store did not answer within ${ms} ms`))
      }, ms)
      this.pending.set(id, { resolve, timer })
      this.port.postMessage({ ...m, id } as SessionRequest)
    })
  }

  store(maxBytes: number): SessionStore {
    return {
      get: (key, turn, expectMs) => this.call({ op: 'get', store: maxBytes, key, ...(turn && { lock: turn }), ...(expectMs !== undefined && { expectMs }) }, (turn?.leaseMs ?? 0) + (expectMs ?? 0)).then((r) => r.value),
      set: (key, value, ttlMs, turn) => this.call({ op: 'set', store: maxBytes, key, value, ttlMs, ...(turn && { token: turn.token }) } as Omit<SessionRequest, 'id'>).then(() => undefined),
      delete: (key) => this.call({ op: 'delete', store: maxBytes, key }).then((r) => r.deleted === true),
      release: (key, turn) => void this.call({ op: 'release', store: maxBytes, key, token: turn.token } as Omit<SessionRequest, 'id'>).catch(() => {}),
    }
  }
}
