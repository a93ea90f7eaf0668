/**
 * The semantic cache's in-process index: unit vectors of stored prompts, each pointing at the
 * exact-cache key of its answer, partitioned by scope (tenant, model, parameters: prompt-text.ts)
 * so a search only ever compares prompts that may answer each other.
 *
 * A small partition is searched exactly (a dot product per entry: below EXACT_UP_TO entries that is
 * cheaper than a graph, and an approximate index per tiny partition would cost ~54 KB each); one
 * that grows past it gets a usearch HNSW index (cosine metric), which then answers its searches.
 * Bounded by entries and by bytes (an estimate per entry: two copies of the vector, ours and the
 * index's, its graph links and bookkeeping; plus a fixed cost per HNSW index): the oldest entries go
 * first. TTL: each entry carries its answer's expiry; expired entries are dropped from the oldest
 * end on every insert and whenever a search meets one. One per worker thread and namespace (the
 * stores keep it, so a reload keeps it); usearch is loaded on first use, never by the dry build.
 */
import { createRequire } from 'node:module'

/** Partitions up to this size are scanned exactly; larger ones get an HNSW index. */
export const EXACT_UP_TO = 64
/** Bytes counted per HNSW index on top of its entries (measured: ~54 KB for a one-entry index). */
export const HNSW_INDEX_BYTES = 64 * 1024
/** Bookkeeping counted per entry on top of its vectors and key (map slots, graph links, objects). */
const ENTRY_OVERHEAD = 256

export interface Nearest {
  /** The exact-cache key of the stored answer. */
  readonly key: string
  readonly similarity: number
  readonly id: number
}

export interface VectorIndexStats {
  readonly entries: number
  readonly bytes: number
  readonly partitions: number
  readonly hnswPartitions: number
  readonly evictions: number
  readonly expired: number
}

interface Entry {
  readonly id: number
  readonly key: string
  readonly vector: Float32Array
  readonly expiresAt: number
  readonly bytes: number
  readonly part: Partition
}

/** One scope's prompts: a list scanned exactly, plus an HNSW index once it grew past EXACT_UP_TO. */
class Partition {
  readonly entries = new Map<number, Entry>()
  readonly byKey = new Map<string, Entry>()
  hnsw: UsearchIndex | undefined
  constructor(readonly scope: string) {}
}

export class VectorIndex {
  private readonly entries = new Map<number, Entry>() // insertion order: the oldest first
  private readonly parts = new Map<string, Partition>()
  private nextId = 1
  private bytes = 0
  private hnswCount = 0
  private evicted = 0
  private expiredCount = 0
  /** Fixed by the first vector: an answer of another length (a changed embedding model) is refused. */
  dimensions: number | undefined

  constructor(readonly maxEntries: number, readonly maxBytes: number) {}

  get size(): number {
    return this.entries.size
  }

  /** The nearest stored prompt of `scope` that has not expired, or undefined (none, other dimensions). */
  nearest(scope: string, v: Float32Array, now = Date.now()): Nearest | undefined {
    const p = this.parts.get(scope)
    if (p === undefined || v.length !== this.dimensions) return undefined
    if (p.hnsw === undefined) {
      let best: Entry | undefined
      let bestSim = -2
      for (const e of p.entries.values()) {
        if (e.expiresAt <= now) continue
        const s = dot(v, e.vector)
        if (s > bestSim) {
          bestSim = s
          best = e
        }
      }
      return best === undefined ? undefined : { key: best.key, similarity: bestSim, id: best.id }
    }
    // A few neighbours, so an expired nearest one does not hide a live one just behind it.
    const found = p.hnsw.search(v, 4, 1)
    for (let i = 0; i < found.keys.length; i++) {
      const e = p.entries.get(Number(found.keys[i]))
      if (e === undefined) continue
      if (e.expiresAt <= now) {
        this.drop(e)
        this.expiredCount++
        continue
      }
      // usearch's cosine distance is 1 - cos; computed again exactly from our copy.
      return { key: e.key, similarity: dot(v, e.vector), id: e.id }
    }
    return undefined
  }

  /** Stores (or replaces) the prompt whose answer is kept under `key`. Returns false when refused. */
  add(scope: string, key: string, v: Float32Array, expiresAt: number, now = Date.now()): boolean {
    if (expiresAt <= now) return false
    if (this.dimensions === undefined) this.dimensions = v.length
    if (v.length !== this.dimensions) return false
    const bytes = 2 * 4 * v.length + 2 * (key.length + scope.length) + ENTRY_OVERHEAD
    if (bytes > this.maxBytes) return false
    this.sweep(now)
    let p = this.parts.get(scope)
    if (p === undefined) this.parts.set(scope, (p = new Partition(scope)))
    const old = p.byKey.get(key)
    if (old !== undefined) this.drop(old)
    if (this.parts.get(scope) === undefined) this.parts.set(scope, p)
    const e: Entry = { id: this.nextId++, key, vector: v, expiresAt, bytes, part: p }
    this.entries.set(e.id, e)
    p.entries.set(e.id, e)
    p.byKey.set(key, e)
    this.bytes += bytes
    if (p.hnsw !== undefined) p.hnsw.add(BigInt(e.id), v, 1)
    else if (p.entries.size > EXACT_UP_TO) this.promote(p)
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.entries.values().next().value as Entry
      if (oldest === e) break
      this.drop(oldest)
      this.evicted++
    }
    return true
  }

  /** Forgets the entry (its answer is gone from every tier). */
  delete(id: number): void {
    const e = this.entries.get(id)
    if (e !== undefined) this.drop(e)
  }

  stats(): VectorIndexStats {
    return { entries: this.entries.size, bytes: this.bytes, partitions: this.parts.size, hnswPartitions: this.hnswCount, evictions: this.evicted, expired: this.expiredCount }
  }

  /** Drops expired entries from the oldest end (TTLs differ per request, so this stops at the first live one). */
  private sweep(now: number): void {
    for (const e of this.entries.values()) {
      if (e.expiresAt > now) return
      this.drop(e)
      this.expiredCount++
    }
  }

  private promote(p: Partition): void {
    const ix = newUsearchIndex(this.dimensions!)
    for (const e of p.entries.values()) ix.add(BigInt(e.id), e.vector, 1)
    p.hnsw = ix
    this.hnswCount++
    this.bytes += HNSW_INDEX_BYTES
  }

  private drop(e: Entry): void {
    if (!this.entries.delete(e.id)) return
    this.bytes -= e.bytes
    const p = e.part
    p.entries.delete(e.id)
    if (p.byKey.get(e.key) === e) p.byKey.delete(e.key)
    if (p.hnsw !== undefined) p.hnsw.remove(BigInt(e.id))
    if (p.entries.size === 0) {
      if (p.hnsw !== undefined) {
        this.hnswCount--
        this.bytes -= HNSW_INDEX_BYTES
        p.hnsw = undefined
      }
      this.parts.delete(p.scope)
    }
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

/** The part of usearch's Index this module uses. */
interface UsearchIndex {
  /** `threads: 1`: a worker thread is one core's share; usearch must not fan out over the others. */
  add(key: bigint, vector: Float32Array, threads: number): void
  search(vector: Float32Array, k: number, threads: number): { keys: BigUint64Array; distances: Float32Array }
  remove(key: bigint): number
}

let usearch: { Index: new (config: object) => UsearchIndex; MetricKind: { Cos: unknown } } | undefined

/** usearch (a native addon, prebuilt in its npm package) is loaded when the first partition needs it. */
function newUsearchIndex(dimensions: number): UsearchIndex {
  usearch ??= createRequire(import.meta.url)('usearch')
  const u = usearch!
  return new u.Index({ dimensions, metric: u.MetricKind.Cos, connectivity: 16, expansion_add: 128, expansion_search: 64 })
}
