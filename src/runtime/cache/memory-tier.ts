/**
 * The in-process tier: an LRU bounded by bytes (lru-cache's maxSize / sizeCalculation), holding
 * encoded entries (entry.ts) as Buffers so the bound is the real size of what is kept, plus the
 * key. One per worker thread and `max_bytes` (stores.ts): the workers of a process do not share it.
 *
 * Expiry is read from the value (an entry's header carries its expires-at) when it is looked up,
 * not kept by lru-cache: its per-entry TTL bookkeeping (a start and a TTL per slot, a clock read on
 * every get and set) was a fifth of the tier's cost on a miss. An expired entry is never returned;
 * it is deleted when a lookup meets it, and otherwise ages out of the LRU like any cold entry (its
 * bytes count against the bound until then, so the bound still holds).
 */
import { LRUCache } from 'lru-cache'
import { entryExpiresAt } from './entry-header.js'

/** Bookkeeping bytes counted per entry on top of its key and value (map slot, list links). */
const ENTRY_OVERHEAD = 64

export interface MemoryTierStats {
  readonly entries: number
  readonly bytes: number
  readonly maxBytes: number
  readonly evictions: number
}

export class MemoryTier {
  private readonly lru: LRUCache<string, Buffer>
  private evicted = 0

  /** `expiresAt`: when a value stops being served (ms since the epoch); by default an entry header's. */
  constructor(readonly maxBytes: number, private readonly expiresAt: (value: Buffer) => number = entryExpiresAt) {
    this.lru = new LRUCache<string, Buffer>({
      maxSize: maxBytes,
      sizeCalculation: (v, k) => v.length + k.length + ENTRY_OVERHEAD,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.evicted++
      },
    })
  }

  get(key: string): Buffer | undefined {
    const v = this.lru.get(key)
    if (v === undefined || this.expiresAt(v) > Date.now()) return v
    this.lru.delete(key)
    return undefined
  }

  /** An entry larger than the whole tier is not kept (lru-cache refuses it); it expires when its header says. */
  set(key: string, value: Buffer): void {
    this.lru.set(key, value)
  }

  delete(key: string): boolean {
    return this.lru.delete(key)
  }

  /** Removes the entries `test` accepts (admin invalidation; off the request path). Returns how many. */
  deleteWhere(test: (value: Buffer) => boolean): number {
    let n = 0
    for (const [k, v] of this.lru.entries()) if (test(v) && this.lru.delete(k)) n++
    return n
  }

  stats(): MemoryTierStats {
    return { entries: this.lru.size, bytes: this.lru.calculatedSize, maxBytes: this.maxBytes, evictions: this.evicted }
  }
}
