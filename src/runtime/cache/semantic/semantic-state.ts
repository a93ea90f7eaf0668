/**
 * What outlives snapshots of the semantic tier, per worker thread and namespace (the stores keep
 * it): the vector index, whether it was warmed from Redis, and counts.
 */
import type { VectorIndex } from './vector-index.js'

export interface SemanticCounts {
  hits: number
  misses: number
  /** The embedding call timed out or failed: answered as a miss. */
  unembedded: number
  remembered: number
  warmed: number
}

/** A worker's index of one namespace, kept in its stores: a reload keeps it. */
export class SemanticState {
  readonly counts: SemanticCounts = { hits: 0, misses: 0, unembedded: 0, remembered: 0, warmed: 0 }
  warming: Promise<void> | undefined
  warmed = false
  retryWarmAt = 0
  constructor(readonly index: VectorIndex) {}
}
