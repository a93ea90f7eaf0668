/**
 * What outlives snapshots of the semantic tier, per worker thread and namespace (the stores keep
 * it): the vector index, whether it was warmed from Redis, counts, and the channel to the same
 * namespace's state in the sibling workers of this process.
 *
 * Siblings: each worker keeps its own index (docs/cache.md says why: the search is the cost, and one
 * owner thread would serialize every worker's searches), so an answer stored through one worker is
 * sent to the others — its vector, scope, expiry and the encoded exact-cache entry it points at —
 * over a BroadcastChannel named after the process's worker pool and the namespace. A sibling adds
 * the vector to its index and the entry to its memory tier (unless it holds one already), so a
 * paraphrase asked through any worker of the process hits. Nothing goes back: a BroadcastChannel
 * does not deliver to its sender.
 */
import { BroadcastChannel } from 'node:worker_threads'
import type { VectorIndex, VectorIndexStats } from './vector-index.js'
import type { MemoryTier } from '../memory-tier.js'

export interface SemanticCounts {
  /** Lookups that found no stored prompt at or above the threshold. Hits are counted per route (RouteCounts). */
  misses: number
  /** The embedding call timed out: answered as a miss. */
  timeouts: number
  /** The embedding call failed (status, unreadable answer, no such cluster): answered as a miss. */
  errors: number
  /** Vectors this worker indexed for answers it stored. */
  remembered: number
  /** Vectors loaded from Redis at warm-up. */
  warmed: number
  /** Vectors (and their entries) received from sibling workers. */
  received: number
  hits: number
}

/** One stored answer as siblings receive it (structured-cloned: the typed arrays arrive as copies of their own). */
interface SiblingEntry {
  readonly scope: string
  readonly key: string
  readonly expiresAt: number
  readonly vector: Float32Array
  /** The stored answer; absent when the workers share one memory tier (it is there already). */
  readonly entry?: Uint8Array
}

/** One namespace's state as a worker reports it (plain data: it crosses threads). */
export interface SemanticView extends VectorIndexStats {
  readonly namespace: string
  readonly counts: SemanticCounts
}

/** A worker's index of one namespace, kept in its stores: a reload keeps it. */
export class SemanticState {
  readonly counts: SemanticCounts = { hits: 0, misses: 0, timeouts: 0, errors: 0, remembered: 0, warmed: 0, received: 0 }
  warming: Promise<void> | undefined
  warmed = false
  retryWarmAt = 0
  private readonly siblings: BroadcastChannel | undefined

  /**
   * `group`: the process's worker-pool name (stores.siblingGroup), undefined without siblings;
   * `memory`: the memory tier the namespace's entries live in (a sibling's entries go there too).
   */
  constructor(readonly index: VectorIndex, readonly namespace = '', group?: string, private readonly memory?: MemoryTier) {
    if (group === undefined || memory === undefined) return
    const channel = new BroadcastChannel(`switchyard:${group}:semantic:${namespace}`)
    channel.onmessage = (ev) => this.receive((ev as { data: SiblingEntry }).data)
    // The channel must not keep a worker alive that is otherwise done.
    channel.unref()
    this.siblings = channel
  }

  /** Tells the sibling workers about an answer this worker stored and indexed. */
  share(scope: string, key: string, vector: Float32Array, expiresAt: number, entry: Buffer): void {
    const s = this.siblings
    if (s === undefined) return
    // A shared memory tier (every worker of a gateway) holds the entry for the siblings already.
    const m: SiblingEntry = { scope, key, expiresAt, vector, ...(this.memory?.shared !== true && { entry }) }
    try {
      s.postMessage(m)
    } catch {
      // A closed channel (the worker is exiting): the siblings simply do not hear of it.
    }
  }

  describe(): SemanticView {
    return { namespace: this.namespace, ...this.index.stats(), counts: { ...this.counts } }
  }

  close(): void {
    this.siblings?.close()
  }

  private receive(m: SiblingEntry): void {
    if (m === null || typeof m !== 'object' || !(m.vector instanceof Float32Array) || (m.entry !== undefined && !(m.entry instanceof Uint8Array))) return
    if (!(m.expiresAt > Date.now())) return
    const memory = this.memory!
    if (m.entry !== undefined && !memory.has(m.key)) memory.set(m.key, Buffer.from(m.entry.buffer, m.entry.byteOffset, m.entry.byteLength))
    if (this.index.add(m.scope, m.key, m.vector, m.expiresAt)) this.counts.received++
  }
}
