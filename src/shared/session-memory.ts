/**
 * The memory store of the `session` filter: conversation records (JSON text) by key, bounded by
 * bytes (least recently used first out) with a TTL per record. One per process and `max_bytes`:
 * the main thread holds it and every worker reaches it over its MessagePort (SessionRequest /
 * SessionReply below), because a conversation's next turn may land on any worker. Dry builds and
 * in-process tests use one directly.
 *
 * A Map keeps insertion order, so re-inserting on every read and write makes its first key the
 * least recently used one.
 */

/** Bookkeeping bytes counted per record on top of its key and value. */
const RECORD_OVERHEAD = 64

interface Held {
  readonly value: string
  readonly expiresAt: number
  readonly bytes: number
}

export class SessionMemory {
  private readonly records = new Map<string, Held>()
  private used = 0
  evictions = 0

  constructor(readonly maxBytes: number) {}

  get(key: string, now = Date.now()): string | undefined {
    const r = this.records.get(key)
    if (r === undefined) return undefined
    this.records.delete(key)
    if (r.expiresAt <= now) {
      this.used -= r.bytes
      return undefined
    }
    this.records.set(key, r)
    return r.value
  }

  /** A record larger than the whole store is not kept (and removes the older one under its key). */
  set(key: string, value: string, ttlMs: number, now = Date.now()): void {
    this.delete(key)
    const bytes = 2 * (key.length + value.length) + RECORD_OVERHEAD
    if (bytes > this.maxBytes) return
    this.records.set(key, { value, expiresAt: now + ttlMs, bytes })
    this.used += bytes
    for (const [k, r] of this.records) {
      if (this.used <= this.maxBytes) break
      this.records.delete(k)
      this.used -= r.bytes
      this.evictions++
    }
  }

  delete(key: string): boolean {
    const r = this.records.get(key)
    if (r === undefined) return false
    this.records.delete(key)
    this.used -= r.bytes
    return true
  }

  stats(): { records: number; bytes: number; maxBytes: number; evictions: number } {
    return { records: this.records.size, bytes: this.used, maxBytes: this.maxBytes, evictions: this.evictions }
  }
}

/**
 * A worker's call on the process's memory store (`store` is the store's max_bytes). A `get` with a
 * `lock` opens a turn of that conversation: until the same token's `set` or `release` (or the
 * lease runs out, or the worker's port closes), other locking gets of the key wait. Without it, a
 * next turn that reaches another worker could read the conversation before the previous turn's
 * write, which is posted as the answer ends, has been applied.
 */
export type SessionRequest =
  | { readonly id: number; readonly op: 'get'; readonly store: number; readonly key: string; readonly lock?: { readonly token: string; readonly leaseMs: number }; readonly expectMs?: number }
  | { readonly id: number; readonly op: 'set'; readonly store: number; readonly key: string; readonly value: string; readonly ttlMs: number; readonly token?: string }
  | { readonly id: number; readonly op: 'delete'; readonly store: number; readonly key: string }
  | { readonly id: number; readonly op: 'release'; readonly store: number; readonly key: string; readonly token: string }

export interface SessionReply {
  readonly id: number
  readonly value?: string
  readonly deleted?: boolean
}

interface TurnLock {
  readonly token: string
  readonly owner: object
  readonly timer: NodeJS.Timeout
  /** Locking gets that arrived meanwhile, in order. */
  readonly waiting: (() => void)[]
}

type Port = { on(event: 'message', cb: (m: SessionRequest) => void): void; on(event: 'close', cb: () => void): void; postMessage(m: SessionReply): void }

/** The host side (main thread): one memory store per max_bytes, answering every worker's port. */
export class SessionMemoryHost {
  private readonly stores = new Map<number, SessionMemory>()
  private readonly locks = new Map<string, TurnLock>()
  /** Gets that missed a record the caller knows was written (expectMs), waiting for its set. */
  private readonly expected = new Map<string, (() => void)[]>()

  store(maxBytes: number): SessionMemory {
    let s = this.stores.get(maxBytes)
    if (s === undefined) this.stores.set(maxBytes, (s = new SessionMemory(maxBytes)))
    return s
  }

  all(): SessionMemory[] {
    return [...this.stores.values()]
  }

  /** Handles one call; `reply` may come later (a locking get waits for the open turn). */
  handle(m: SessionRequest, owner: object, reply: (r: SessionReply) => void): void {
    const s = this.store(m.store)
    const lockKey = `${m.store}|${m.key}`
    switch (m.op) {
      case 'get': {
        if (m.lock !== undefined) {
          const held = this.locks.get(lockKey)
          if (held !== undefined) return void held.waiting.push(() => this.handle(m, owner, reply))
          const timer = setTimeout(() => this.unlock(lockKey), m.lock.leaseMs)
          timer.unref()
          this.locks.set(lockKey, { token: m.lock.token, owner, timer, waiting: [] })
        }
        const value = s.get(m.key)
        if (value !== undefined) return reply({ id: m.id, value })
        // A miss is read again once the messages already queued on the other workers' ports are in: a
        // worker posts an answer's write just after the answer's last byte, so a caller quick to send the
        // next turn through another worker can have its read handled here first (ports drain in no fixed
        // order). setImmediate runs after this turn of the event loop has drained every signalled port.
        // A record the caller knows exists (a previous_response_id it was given) may still be on its way
        // from a worker the scheduler has not run yet: such a miss waits up to expectMs for its set.
        if (m.expectMs !== undefined && m.expectMs > 0) return void setImmediate(() => this.expect(s, m.id, m.key, lockKey, m.expectMs!, reply))
        return void setImmediate(() => reply(readReply(s, m.id, m.key)))
      }
      case 'set':
        s.set(m.key, m.value, m.ttlMs)
        this.wake(lockKey)
        if (m.token !== undefined && this.locks.get(lockKey)?.token === m.token) this.unlock(lockKey)
        return reply({ id: m.id })
      case 'release':
        if (this.locks.get(lockKey)?.token === m.token) this.unlock(lockKey)
        return reply({ id: m.id })
      case 'delete':
        return reply({ id: m.id, deleted: s.delete(m.key) })
    }
  }

  /** Serves one worker's port; the turns its worker had open end when the port closes (the worker exited). */
  serve(port: Port): void {
    const owner = {}
    port.on('message', (m) => this.handle(m, owner, (r) => port.postMessage(r)))
    port.on('close', () => {
      for (const [k, l] of this.locks) if (l.owner === owner) this.unlock(k)
    })
  }

  private expect(s: SessionMemory, id: number, key: string, lockKey: string, ms: number, reply: (r: SessionReply) => void): void {
    if (s.get(key) !== undefined) return reply(readReply(s, id, key))
    let done = false
    const answer = () => {
      if (done) return
      done = true
      clearTimeout(timer)
      reply(readReply(s, id, key))
    }
    const timer = setTimeout(() => {
      const list = this.expected.get(lockKey)
      if (list !== undefined) {
        const i = list.indexOf(answer)
        if (i >= 0) list.splice(i, 1)
        if (list.length === 0) this.expected.delete(lockKey)
      }
      answer()
    }, ms)
    timer.unref()
    const list = this.expected.get(lockKey)
    if (list === undefined) this.expected.set(lockKey, [answer])
    else list.push(answer)
  }

  private wake(lockKey: string): void {
    const list = this.expected.get(lockKey)
    if (list === undefined) return
    this.expected.delete(lockKey)
    for (const answer of list) answer()
  }

  private unlock(lockKey: string): void {
    const l = this.locks.get(lockKey)
    if (l === undefined) return
    clearTimeout(l.timer)
    this.locks.delete(lockKey)
    // The first waiter takes the lock again; the rest queue behind it.
    for (const next of l.waiting) next()
  }
}

function readReply(s: SessionMemory, id: number, key: string): SessionReply {
  const value = s.get(key)
  return value === undefined ? { id } : { id, value }
}
