/**
 * The shared tier: entries in Redis, so every gateway host answers from what any of them stored.
 * An entry is a Redis hash at `<key_prefix>cache:e:<key>`: `v` the encoded entry (deflate-raw
 * above 512 bytes, behind a one-byte format tag), `o` its owner (`<route>\n<tenant>`), `g` the
 * owner's generations when its request looked it up (generations.ts: a DELETE /cache on any host
 * bumps them, and an entry whose generations are no longer current is a miss); the TTL is Redis's
 * own (PEXPIRE in the same MULTI).
 *
 * Also the cross-host single-flight lock (`<key_prefix>cache:lock:<key>`, SET NX PX with a
 * random token, renewed by its holder, released by compare-and-delete): a holder that dies lets
 * it expire after `lock_ttl`.
 *
 * It never fails a request: a Redis that is away, slow (the connection's command timeout) or
 * returns garbage is a miss, a failed write is dropped, a lock that cannot be taken or checked
 * sends the request upstream — the memory tier goes on working.
 */
import { deflateRaw, inflateRaw } from 'node:zlib'
import { promisify } from 'node:util'
import { DELETE_IF_HELD, RENEW_IF_HELD, type RedisConnection } from '../limits/redis-connection.js'
import { GEN_KEY, generationFields, generationString } from './generations.js'
import { watchInvalidations, type Purge } from './invalidation-watch.js'

const deflate = promisify(deflateRaw)
const inflate = promisify(inflateRaw)

/** Format tags: the first byte of every stored value. */
const RAW = 0
const DEFLATED = 1
/** Values below this are stored uncompressed (compression costs more than it saves). */
const COMPRESS_OVER = 512

/** What this worker's Redis tiers did, for /cache and /metrics (kept in the CacheStore: outlives snapshots). */
export interface RedisTierCounts {
  /** Lookups answered from Redis. */
  hits: number
  misses: number
  /** Entries found but invalidated (their owner's generations were bumped since). */
  stale: number
  writes: number
  /** Reads, writes and lock calls that failed (Redis away or slow). */
  failures: number
  /** Misses that waited for another host's (or worker's) lock holder, and how many of those got its answer. */
  lockWaits: number
  lockServed: number
}

export function newRedisTierCounts(): RedisTierCounts {
  return { hits: 0, misses: 0, stale: 0, writes: 0, failures: 0, lockWaits: 0, lockServed: 0 }
}

/** A lookup: the entry (undefined: absent, stale or unreadable) and the owner's generations now (undefined: Redis failed). */
export interface SharedLookup {
  readonly entry: Buffer | undefined
  readonly gens: string | undefined
}

const FAILED: SharedLookup = Object.freeze({ entry: undefined, gens: undefined })

export class RedisTier {
  private watching = false

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    readonly counts: RedisTierCounts = newRedisTierCounts(),
    /** Drops memory entries an invalidation on any host covers; the watch starts with the first lookup. */
    private readonly onInvalidate?: Purge,
  ) {}

  keyOf(key: string): string {
    return `${this.prefix}cache:e:${key}`
  }

  lockKeyOf(key: string): string {
    return `${this.prefix}cache:lock:${key}`
  }

  get genKey(): string {
    return this.prefix + GEN_KEY
  }

  /** The entry stored under `key` while `route`/`tenant`'s generations are those it was stored with. */
  async get(key: string, route: string, tenant: string): Promise<SharedLookup> {
    if (!this.watching && this.onInvalidate !== undefined) {
      this.watching = true
      watchInvalidations(this.redis, this.genKey, this.onInvalidate)
    }
    let stored: (Buffer | null)[]
    let gens: string
    try {
      const [s, g] = await Promise.all([
        this.redis.run((c) => c.hmgetBuffer(this.keyOf(key), 'v', 'o', 'g')),
        this.redis.run((c) => c.hmget(this.genKey, ...generationFields(route, tenant))),
      ])
      stored = s
      gens = generationString(g)
    } catch {
      this.counts.failures++
      return FAILED
    }
    const [v, o, g] = stored
    if (v === null || v.length === 0) return this.miss(gens)
    // An entry another route filled (same tenant: it is in the key) is judged by that route's generations.
    const owner = o?.toString('utf8') ?? ''
    let ownerGens = gens
    if (owner !== `${route}\n${tenant}`) {
      const ownerRoute = owner.slice(0, owner.indexOf('\n'))
      try {
        ownerGens = generationString(await this.redis.run((c) => c.hmget(this.genKey, ...generationFields(ownerRoute, tenant))))
      } catch {
        this.counts.failures++
        return FAILED
      }
    }
    if (g?.toString('utf8') !== ownerGens) {
      this.counts.stale++
      return this.miss(gens)
    }
    const entry = await unpack(v)
    if (entry === undefined) return this.miss(gens)
    this.counts.hits++
    return { entry, gens }
  }

  private miss(gens: string): SharedLookup {
    this.counts.misses++
    return { entry: undefined, gens }
  }

  /**
   * Stores `entry` for `route`/`tenant` with `gens` (from this request's lookup: an invalidation
   * since makes it stale at once; undefined: read now). Resolves when written or dropped; the
   * request never waits for it.
   */
  async set(key: string, entry: Buffer, ttlMs: number, route: string, tenant: string, gens: string | undefined): Promise<void> {
    try {
      const value = entry.length < COMPRESS_OVER ? Buffer.concat([TAG_RAW, entry]) : Buffer.concat([TAG_DEFLATED, await deflate(entry)])
      const g = gens ?? generationString(await this.redis.run((c) => c.hmget(this.genKey, ...generationFields(route, tenant))))
      const k = this.keyOf(key)
      const ttl = Math.max(1, Math.round(ttlMs))
      const results = await this.redis.run((c) => c.multi().hset(k, 'v', value, 'o', `${route}\n${tenant}`, 'g', g).pexpire(k, ttl).exec())
      if (results === null || results.some(([e]) => e !== null)) throw new Error('cache write failed')
      this.counts.writes++
    } catch {
      this.counts.failures++
    }
  }

  /** Removes an entry that did not validate (in the background). */
  drop(key: string): void {
    this.redis.run((c) => c.del(this.keyOf(key))).catch(() => this.counts.failures++)
  }

  /** true: the caller holds the lock now; false: another does; undefined: Redis could not say (go upstream). */
  async tryLock(key: string, token: string, ttlMs: number): Promise<boolean | undefined> {
    try {
      return (await this.redis.run((c) => c.set(this.lockKeyOf(key), token, 'PX', ttlMs, 'NX'))) === 'OK'
    } catch {
      this.counts.failures++
      return undefined
    }
  }

  /** Keeps a held lock alive while its request is upstream (a failure is left to the lock's expiry). */
  renew(key: string, token: string, ttlMs: number): void {
    this.redis.evalScript(RENEW_IF_HELD, [this.lockKeyOf(key)], [token, ttlMs]).catch(() => this.counts.failures++)
  }

  unlock(key: string, token: string): Promise<void> {
    return this.redis.evalScript(DELETE_IF_HELD, [this.lockKeyOf(key)], [token]).then(
      () => undefined,
      () => void this.counts.failures++,
    )
  }
}

async function unpack(v: Buffer): Promise<Buffer | undefined> {
  if (v[0] === RAW) return v.subarray(1)
  if (v[0] !== DEFLATED) return undefined
  try {
    return await inflate(v.subarray(1))
  } catch {
    return undefined
  }
}

const TAG_RAW = Buffer.from([RAW])
const TAG_DEFLATED = Buffer.from([DEFLATED])
