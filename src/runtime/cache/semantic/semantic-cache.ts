/**
 * The semantic tier of the cache filter: after an exact miss, the request's question (prompt-text.ts)
 * is embedded (embedder.ts) and the nearest stored prompt of the same scope looked up in this
 * worker's vector index (vector-index.ts); at or above the threshold, that prompt's answer — an
 * exact-cache entry, found in the memory tier or Redis — answers. An answer stored after a miss is
 * remembered under the vector computed for the lookup (a refresh embeds it in the background).
 *
 * With the Redis tier on, every remembered vector also goes to Redis (redis-vectors.ts), and a
 * worker's index is warmed from there once: when the first snapshot using it is built (a lazy,
 * unused connection — the compiler's dry build — is left alone), else on the first lookup. A
 * lookup waits for a warm-up under way no longer than its own embedding call's timeout.
 */
import type { RequestContext, Stores } from '../../types.js'
import type { RedisConnection } from '../../limits/redis-connection.js'
import { Embedder, type EmbedFailure } from './embedder.js'
import { VectorIndex, type Nearest } from './vector-index.js'
import { SemanticState } from './semantic-state.js'
import { RedisVectors } from './redis-vectors.js'
import type { SemanticPolicy } from './semantic-policy.js'
import { semanticQuestion, type SemanticQuestion } from './prompt-text.js'
import type { KeyParts } from '../key.js'
import type { MemoryTier } from '../memory-tier.js'

/** Why a lookup found nothing: no stored prompt close enough (`miss`), or no vector to look with. */
export type SemanticMiss = 'miss' | EmbedFailure

/** A failed warm-up is tried again after this long (Redis was still connecting, or away). */
const WARM_RETRY_MS = 1000

/**
 * One request's view, kept from onRequest until onComplete stores its answer. The question is
 * worked out only when needed (an exact hit never needs it).
 */
export class SemanticLookup {
  vector: Float32Array | undefined
  /** A lookup embedded (or tried to): a failed embedding is not tried again to store the answer. */
  looked = false
  private q: SemanticQuestion | null | undefined

  constructor(private readonly parts: KeyParts, private readonly embed: SemanticPolicy['embed']) {}

  /** undefined when the request has nothing comparable (prompt-text.ts). */
  get question(): SemanticQuestion | undefined {
    if (this.q === undefined) this.q = semanticQuestion(this.parts, this.embed) ?? null
    return this.q ?? undefined
  }
}

export interface SemanticDeps {
  readonly stores: Stores
  /** The filter's namespace (with its config hash): an index per namespace. */
  readonly namespace: string
  /** When the cache's Redis tier is on. */
  readonly redis?: { readonly connection: RedisConnection; readonly prefix: string }
  /** The exact cache's memory tier (entries received from sibling workers go there). */
  readonly memory?: MemoryTier
}

export class SemanticCache {
  readonly state: SemanticState
  private readonly embedder: Embedder
  private readonly vectors: RedisVectors | undefined

  constructor(readonly policy: SemanticPolicy, deps: SemanticDeps) {
    const key = `${deps.namespace}|${policy.maxEntries}|${policy.maxBytes}`
    this.state = deps.stores.semanticIndex(key, () => new SemanticState(new VectorIndex(policy.maxEntries, policy.maxBytes), deps.namespace, deps.stores.siblingGroup, deps.memory))
    this.embedder = new Embedder(policy)
    this.vectors = deps.redis === undefined ? undefined : new RedisVectors(deps.redis.connection, deps.redis.prefix, deps.namespace)
    // Warm as soon as the worker builds the snapshot, so the first lookups find what other hosts stored.
    if (this.vectors?.live) void this.warm()
  }

  prepare(parts: KeyParts): SemanticLookup {
    return new SemanticLookup(parts, this.policy.embed)
  }

  /**
   * The nearest stored prompt at or above the threshold, or why there is none (a miss either way);
   * undefined when the request has nothing to compare. Fills `l.vector`.
   */
  async lookup(ctx: RequestContext, l: SemanticLookup): Promise<Nearest | SemanticMiss | undefined> {
    const question = l.question
    if (question === undefined) return undefined
    l.looked = true
    const warming = this.warm()
    // A long warm-up goes on in the background: this lookup waits for it no longer than for its embedding.
    const [vector] = await Promise.all([this.embedder.embed(ctx, question.text), warming && Promise.race([warming, delay(this.policy.timeoutMs)])])
    if (typeof vector === 'string') {
      this.state.counts[vector === 'timeout' ? 'timeouts' : 'errors']++
      return vector
    }
    l.vector = vector
    const near = this.state.index.nearest(question.scope, vector)
    if (near === undefined || near.similarity < this.policy.threshold) {
      this.state.counts.misses++
      return 'miss'
    }
    return near
  }

  /** The answer `near` pointed at is gone from every tier: forget the vector too. */
  forget(near: Nearest): void {
    this.state.index.delete(near.id)
  }

  hit(): void {
    this.state.counts.hits++
  }

  /**
   * The answer to `l`'s question was stored as `entry` under `key` until `expiresAt`: index it (in
   * the background when it still needs its vector), and tell the sibling workers.
   */
  remember(ctx: RequestContext, l: SemanticLookup, key: string, expiresAt: number, entry: Buffer): void {
    const question = l.question
    if (question === undefined) return
    if (l.vector !== undefined) return this.add(question.scope, key, l.vector, expiresAt, entry)
    if (l.looked) return
    void this.embedder.embed(ctx, question.text).then((v) => {
      if (typeof v !== 'string') this.add(question.scope, key, v, expiresAt, entry)
    })
  }

  private add(scope: string, key: string, vector: Float32Array, expiresAt: number, entry: Buffer): void {
    if (!this.state.index.add(scope, key, vector, expiresAt)) return
    this.state.counts.remembered++
    this.vectors?.set({ scope, key, expiresAt, vector })
    this.state.share(scope, key, vector, expiresAt, entry)
  }

  /** Loads what Redis holds into this worker's index, once (again after a failure, at most every WARM_RETRY_MS). */
  private warm(): Promise<void> | undefined {
    const s = this.state
    const vectors = this.vectors
    if (vectors === undefined || s.warmed) return undefined
    if (s.warming !== undefined) return s.warming
    const now = Date.now()
    if (now < s.retryWarmAt) return undefined
    const failuresBefore = vectors.failures
    s.warming = vectors
      .warm((v) => {
        if (s.index.add(v.scope, v.key, v.vector, v.expiresAt)) s.counts.warmed++
        return s.index.size < s.index.maxEntries
      })
      .then(() => {
        s.warming = undefined
        if (vectors.failures === failuresBefore) s.warmed = true
        else s.retryWarmAt = Date.now() + WARM_RETRY_MS
      })
    return s.warming
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
