/**
 * Carries a `DELETE /cache` on one host to the memory tiers of every other host: each worker with
 * a Redis tier polls the generation hash's epoch (generations.ts; one HGET per interval) and, when
 * it moved, reads the hash and drops the memory entries each changed field covers. So another
 * host's memory serves an invalidated entry for at most WATCH_INTERVAL_MS (its Redis tier not at
 * all: a stale entry is a miss there at once). The first read is the baseline. While Redis is
 * away nothing is dropped; the first read after it returns catches up (a Redis that lost the hash
 * reads as every field changed, so everything it had covered is dropped).
 *
 * One watch per connection and hash per worker, however many snapshots and filters use them.
 */
import type { RedisConnection } from '../limits/redis-connection.js'
import { EPOCH_FIELD, changedFields, purgeOf, type CachePurge } from './generations.js'

export type Purge = (by: CachePurge) => void

/** How often a worker looks for invalidations made elsewhere. */
export const WATCH_INTERVAL_MS = 500

const watches = new WeakMap<RedisConnection, Map<string, InvalidationWatch>>()

/** Starts (once per connection and key) the watch that calls `purge` for every invalidation. */
export function watchInvalidations(redis: RedisConnection, genKey: string, purge: Purge): void {
  let byKey = watches.get(redis)
  if (byKey === undefined) watches.set(redis, (byKey = new Map()))
  if (byKey.has(genKey)) return
  const w = new InvalidationWatch(redis, genKey, purge)
  byKey.set(genKey, w)
  w.start()
}

export class InvalidationWatch {
  private epoch: string | null | undefined
  private fields: Record<string, string> | undefined
  private busy = false
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly redis: RedisConnection, private readonly genKey: string, private readonly purge: Purge, private readonly intervalMs = WATCH_INTERVAL_MS) {}

  start(): void {
    void this.tick()
    this.timer = setInterval(() => void this.tick(), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** One look; resolves when done (tests await it). */
  async tick(): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      const epoch = await this.redis.run((c) => c.hget(this.genKey, EPOCH_FIELD))
      if (epoch === this.epoch) return
      const all = await this.redis.run((c) => c.hgetall(this.genKey))
      if (this.fields !== undefined) {
        for (const f of changedFields(this.fields, all)) {
          const by = purgeOf(f)
          if (by !== undefined) this.purge(by)
        }
      }
      this.fields = all
      this.epoch = all[EPOCH_FIELD] ?? null
    } catch {
      // Redis away: look again next time.
    } finally {
      this.busy = false
    }
  }
}
