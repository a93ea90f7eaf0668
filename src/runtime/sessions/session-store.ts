/**
 * Where the `session` filter keeps conversations: the process's memory store (reached over the
 * worker's port to the main thread, or held directly where there is no main thread: dry builds,
 * in-process tests) or Redis (shared by every host). All three answer the same three calls, each
 * bounded by a timeout: a store that cannot answer rejects with SessionStoreUnavailable, and the
 * filter refuses the turn (503) rather than answer it without its history.
 */
import type { MessagePort } from 'node:worker_threads'
import { SessionMemory, type SessionReply, type SessionRequest } from '../../shared/session-memory.js'
import { randomBytes } from 'node:crypto'
import { DELETE_IF_HELD, RENEW_IF_HELD, type RedisConnection } from '../limits/redis-connection.js'

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

/**
 * Records in Redis under `<prefix>session:<key>`, with the TTL in Redis itself (SET … PX).
 *
 * Turn order across hosts: a locking get first takes `<prefix>session-turn:<key>` (SET NX PX with
 * a token of this store and the turn), and the turn's write or release deletes it only while it is
 * still the holder's. The next turn, on any host, waits for that key to go before it reads, so it
 * reads after the write. The key lives `ttlMs` (15 s) and is renewed while its turn is open (at most
 * the turn's lease): a host that dies mid-turn holds its conversation that long, no longer.
 * Only single-key commands, so a Redis Cluster needs no hash tags.
 */
export class RedisSessionStore implements SessionStore {
  /** Open turns this store holds, by lock key and token: the renewal timer. */
  private readonly held = new Map<string, NodeJS.Timeout>()
  /** Request ids are unique in a process only: the token is this store's and the turn's. */
  private readonly nonce = randomBytes(6).toString('hex')

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly timing: TurnKeyTiming = TURN_KEY_TIMING,
  ) {}

  keyOf(key: string): string {
    return `${this.prefix}session:${key}`
  }

  turnKeyOf(key: string): string {
    return `${this.prefix}session-turn:${key}`
  }

  /** `expectMs`: the record was written by some host (a previous_response_id); a miss is read again every 25 ms until then. */
  async get(key: string, turn?: TurnToken, expectMs?: number): Promise<string | undefined> {
    if (turn !== undefined) await this.openTurn(key, turn)
    try {
      const until = Date.now() + (expectMs ?? 0)
      for (;;) {
        const v = await this.guard(this.redis.run((c) => c.get(this.keyOf(key))))
        if (v !== null && v !== undefined) return v
        if (Date.now() + 25 > until) return undefined
        await sleep(25)
      }
    } catch (e) {
      // The filter refuses this turn: the next must not wait for it.
      if (turn !== undefined) this.release(key, turn)
      throw e
    }
  }

  async set(key: string, value: string, ttlMs: number, turn?: TurnToken): Promise<void> {
    try {
      await this.guard(this.redis.run((c) => c.set(this.keyOf(key), value, 'PX', Math.max(1, Math.round(ttlMs)))))
    } finally {
      // After the write has landed, never before: the next turn reads once this key is gone.
      if (turn !== undefined) await this.endTurn(key, turn)
    }
  }

  delete(key: string): Promise<boolean> {
    return this.guard(this.redis.run((c) => c.del(this.keyOf(key)))).then((n) => n > 0)
  }

  release(key: string, turn: TurnToken): void {
    void this.endTurn(key, turn)
  }

  /**
   * Waits until this turn holds the conversation: the previous turn on any host wrote or released
   * it, or its key expired (its host is gone), or this turn's lease ran out (then it reads anyway,
   * as the memory store does). Rejects with SessionStoreUnavailable when Redis cannot answer.
   */
  private async openTurn(key: string, turn: TurnToken): Promise<void> {
    const lock = this.turnKeyOf(key)
    const token = this.tokenOf(turn)
    const giveUpAt = Date.now() + turn.leaseMs
    for (let pause = FIRST_POLL_MS; ; pause = Math.min(pause * 2, MAX_POLL_MS)) {
      const taken = await this.guard(this.redis.run((c) => c.set(lock, token, 'PX', this.timing.ttlMs, 'NX')))
      if (taken === 'OK') break
      if (Date.now() + pause > giveUpAt) return
      await sleep(pause)
    }
    const openedAt = Date.now()
    const timer = setInterval(() => {
      if (Date.now() - openedAt >= turn.leaseMs) return void this.stopRenewing(lock, token)
      this.redis.evalScript(RENEW_IF_HELD, [lock], [token, this.timing.ttlMs]).catch(() => {
        // Left to the key's expiry: the next turn then reads without this one's write.
      })
    }, this.timing.renewMs)
    timer.unref()
    this.held.set(`${lock}\n${token}`, timer)
  }

  private async endTurn(key: string, turn: TurnToken): Promise<void> {
    const lock = this.turnKeyOf(key)
    const token = this.tokenOf(turn)
    if (!this.stopRenewing(lock, token)) return
    try {
      await this.redis.evalScript(DELETE_IF_HELD, [lock], [token])
    } catch {
      // The key expires by itself within timing.ttlMs.
    }
  }

  /** false: this store does not hold the turn (never took it, or ended it already). */
  private stopRenewing(lock: string, token: string): boolean {
    const id = `${lock}\n${token}`
    const timer = this.held.get(id)
    if (timer === undefined) return false
    clearInterval(timer)
    this.held.delete(id)
    return true
  }

  private tokenOf(turn: TurnToken): string {
    return `${this.nonce}:${turn.token}`
  }

  private guard<T>(p: Promise<T>): Promise<T> {
    return p.catch((e: Error) => {
      throw new SessionStoreUnavailable(`redis: ${e?.message ?? e}`)
    })
  }
}

export interface TurnKeyTiming {
  /** How long an open turn's key outlives a host that stopped renewing it (died mid-turn). */
  readonly ttlMs: number
  readonly renewMs: number
}
const TURN_KEY_TIMING: TurnKeyTiming = { ttlMs: 15_000, renewMs: 5_000 }
/** A waiting turn asks again after 5 ms, then twice as long each time, at most every 100 ms. */
const FIRST_POLL_MS = 5
const MAX_POLL_MS = 100
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
