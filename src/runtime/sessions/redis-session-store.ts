/**
 * The `session` filter's Redis store: conversations shared by every host, and the turn keys that
 * serve one conversation's turns one at a time across hosts (as the memory store does across a
 * process's workers, session-memory.ts).
 */
import { randomBytes } from 'node:crypto'
import { DELETE_IF_HELD, RENEW_IF_HELD, type RedisConnection } from '../limits/redis-connection.js'
import { SessionStoreUnavailable, type SessionStore, type TurnToken } from './session-store.js'

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
