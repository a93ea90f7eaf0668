/**
 * The in-process tier: an LRU bounded by bytes (lru-cache's maxSize / sizeCalculation), holding
 * encoded entries (entry.ts) as Buffers so the bound is the real size of what is kept, plus the
 * key. One per worker thread and `max_bytes` (stores.ts): the workers of a process do not share it.
 * TTL is lru-cache's own per entry: an expired entry is never returned.
 */
import { LRUCache } from 'lru-cache'

/** Bookkeeping bytes counted per entry on top of its key and value (map slot, timers, list links). */
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

  constructor(readonly maxBytes: number) {
    this.lru = new LRUCache<string, Buffer>({
      maxSize: maxBytes,
      sizeCalculation: (v, k) => v.length + k.length + ENTRY_OVERHEAD,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.evicted++
      },
    })
  }

  get(key: string): Buffer | undefined {
    return this.lru.get(key)
  }

  /** An entry larger than the whole tier is not kept (lru-cache refuses it). */
  set(key: string, value: Buffer, ttlMs: number): void {
    this.lru.set(key, value, { ttl: ttlMs })
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
