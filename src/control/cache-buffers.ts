/**
 * The response cache's memory tiers, one SharedArrayBuffer per `memory.max_bytes` a config asks for,
 * made here on the main thread and handed to every worker with each snapshot (worker-pool.ts), so
 * the workers of a process share one set of entries (runtime/cache/memory-tier.ts) instead of
 * holding one copy each. A buffer outlives the snapshots, like each worker's stores did: a reload
 * that keeps the size keeps the entries. A size no config asks for any more keeps its buffer until
 * the process exits (sizes change rarely; the pages a tier never wrote are never resident).
 */
import type { SnapshotIR } from '../compiler/ir.js'
import { MemoryTier } from '../runtime/cache/memory-tier.js'
import { memoryBytesOf, type CacheConfig } from '../runtime/cache/policy.js'

export class CacheBuffers {
  private readonly bySize = new Map<number, SharedArrayBuffer>()

  /** The buffers of every memory size `ir` uses, by size in bytes (a worker's stores look them up by size). */
  for(ir: SnapshotIR): Record<number, SharedArrayBuffer> {
    const out: Record<number, SharedArrayBuffer> = {}
    for (const bytes of memorySizes(ir)) {
      let buffer = this.bySize.get(bytes)
      if (buffer === undefined) this.bySize.set(bytes, (buffer = MemoryTier.createBuffer(bytes)))
      out[bytes] = buffer
    }
    return out
  }
}

/** The memory sizes of the config's cache filters, including those a rule's filter override configures. */
function memorySizes(ir: SnapshotIR): Set<number> {
  const sizes = new Set<number>()
  const add = (config: Record<string, unknown>) => {
    // The compile validated it; a size that does not parse is left to the worker, which then keeps its own tier.
    try {
      sizes.add(memoryBytesOf(config as Pick<CacheConfig, 'memory'>))
    } catch {}
  }
  const caches = new Set<string>()
  for (const f of ir.filters) {
    if (f.type !== 'cache') continue
    caches.add(f.name)
    add(f.config)
  }
  if (caches.size === 0) return sizes
  for (const table of ir.routeTables) {
    for (const rule of table.rules) {
      for (const [name, o] of Object.entries(rule.filterOverrides)) if (caches.has(name) && 'config' in o) add(o.config)
    }
  }
  return sizes
}
