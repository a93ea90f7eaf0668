/**
 * A worker's response cache state, kept in its stores (outliving snapshots, so a reload keeps the
 * entries): the memory tier, the single-flight table and per-route counts. One per worker thread
 * and memory size; the memory tier's entries are shared by the workers of a process when the main
 * thread gave them its buffer (memory-tier.ts), the rest is each worker's own.
 */
import { MemoryTier } from './memory-tier.js'
import { SingleFlight } from './single-flight.js'
import { entryOwner, entrySize, writeEntry, type EntryDraft } from './entry-header.js'
import { newRedisTierCounts, type RedisTierCounts } from './redis-tier.js'

export type CacheOutcome = 'hit' | 'miss' | 'bypass' | 'refresh'

export interface RouteCounts {
  /** Answered from an entry under the request's own key. */
  hit: number
  miss: number
  bypass: number
  refresh: number
  /** Answers stored (misses and refreshes that completed well). */
  stored: number
  /** Semantic tier (routes with `semantic` on), after an exact miss: answered from a similar prompt's entry. */
  semanticHit: number
  /** Looked up, nothing at or above the threshold (or its answer was gone): went on as a miss. */
  semanticMiss: number
  /** The embedding call timed out / failed: went on as a miss without a lookup. */
  embedTimeout: number
  embedError: number
  /** Misses not captured nor stored: the memory tier was at its bound and the key not seen recently (`admission`). */
  admissionRejected: number
}

export class CacheStore {
  readonly memory: MemoryTier
  readonly flights = new SingleFlight()
  /** What the Redis tiers of the filters using this store did (zero without a Redis tier). */
  readonly redis: RedisTierCounts = newRedisTierCounts()
  private readonly counts = new Map<string, RouteCounts>()

  /** `buffer`: the process's shared memory tier of this size (MemoryTier.createBuffer), if there is one. */
  constructor(maxBytes: number, buffer?: SharedArrayBuffer) {
    this.memory = new MemoryTier(maxBytes, { buffer })
  }

  /** The counts of one route, created on first use (the filter keeps the object: no lookup per request). */
  routeCounts(route: string): RouteCounts {
    let c = this.counts.get(route)
    if (c === undefined) this.counts.set(route, (c = { hit: 0, miss: 0, bypass: 0, refresh: 0, stored: 0, semanticHit: 0, semanticMiss: 0, embedTimeout: 0, embedError: 0, admissionRejected: 0 }))
    return c
  }

  /**
   * Stores an entry in the memory tier, encoded straight into its shared buffer (no Buffer of its
   * own). false when not stored: larger than `maxEntryBytes` (the policy's max_entry_size, the
   * whole encoded entry), a route or tenant name over 64 KiB, or the tier did not take it.
   */
  putEntry(key: string, d: EntryDraft, maxEntryBytes: number): boolean {
    const n = entrySize(d)
    return n >= 0 && n <= maxEntryBytes && this.memory.setWith(key, n, writeEntry, d)
  }

  /** Removes this worker's memory entries filled by `route` and/or for `tenant` (both unset: all). */
  purge(by: { route?: string; tenant?: string }): number {
    return this.memory.deleteWhere((v) => {
      const o = entryOwner(v)
      return o !== undefined && (by.route === undefined || o.route === by.route) && (by.tenant === undefined || o.tenant === by.tenant)
    })
  }

  describe(): CacheStoreView {
    return { memory: this.memory.stats(), redis: { ...this.redis }, inFlight: this.flights.size, routes: Object.fromEntries(this.counts) }
  }
}

/** One store as a worker reports it (plain data: it crosses threads). */
export interface CacheStoreView {
  readonly memory: ReturnType<MemoryTier['stats']>
  readonly redis: RedisTierCounts
  readonly inFlight: number
  readonly routes: Record<string, RouteCounts>
}
