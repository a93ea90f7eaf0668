/**
 * GET /cache and DELETE /cache on the main thread, and the cache series of /metrics that only the
 * main thread can give: the workers' reports (runtime/cache/cache-store.ts describe()) summed, per
 * route and per tier, plus the Redis tier as Redis itself holds it.
 *
 * - Invalidation bumps one generation field in Redis (runtime/cache/generations.ts) — one HINCRBY,
 *   however many entries, seen by every host at its next lookup — after the workers of this
 *   process dropped their memory entries; other hosts drop theirs when their watch sees the bump.
 * - The Redis tier's entries and bytes are counted by a bounded SCAN of `<key_prefix>cache:e:*`
 *   (HSTRLEN of each value, pipelined): an admin read, never on the request path, and cut short
 *   after SCAN_BUDGET_KEYS keys or SCAN_BUDGET_MS (then `complete: false`). It counts entries a
 *   generation bump made stale until their TTL removes them.
 */
import type { Cluster, Redis } from 'ioredis'
import type { SnapshotIR } from '../compiler/ir.js'
import type { RedisConnection } from '../runtime/limits/redis-connection.js'
import type { CacheStoreView } from '../runtime/cache/cache-store.js'
import type { SemanticView } from '../runtime/cache/semantic/semantic-state.js'
import type { MetricJSON } from '../runtime/telemetry/metric-store.js'
import { EPOCH_FIELD, GEN_KEY, fieldOf } from '../runtime/cache/generations.js'
import type { CachePurge } from './messages.js'

export const SCAN_BUDGET_KEYS = 100_000
export const SCAN_BUDGET_MS = 2000

/** What one worker answers a cache query with (runtime/worker.ts). */
export interface WorkerCacheReply {
  readonly removed: number
  readonly caches: readonly CacheStoreView[]
  /** The worker's semantic indexes, one per namespace (absent from workers of an older build). */
  readonly semantic?: readonly SemanticView[]
}

/** The semantic tier summed over workers and namespaces (each worker holds its own index: docs/cache.md). */
export interface SemanticTierView {
  entries: number
  bytes: number
  evictions: number
  expired: number
  partitions: number
  hnswPartitions: number
  /** Vectors indexed for answers stored by this process's workers, loaded from Redis, received from a sibling worker. */
  remembered: number
  warmed: number
  received: number
}

export interface RedisTierView {
  readonly entries: number
  readonly bytes: number
  /** false: the scan stopped at its budget (the numbers are lower bounds). */
  readonly complete: boolean
}

const OUTCOMES = ['hit', 'miss', 'bypass', 'refresh', 'stored'] as const
const REDIS_COUNTS = ['hits', 'misses', 'stale', 'writes', 'failures', 'lockWaits', 'lockServed'] as const

/** Whether the config has a cache filter and a redis block (then invalidation reaches Redis). */
export function usesRedisCache(ir: SnapshotIR): boolean {
  return ir.redis !== undefined && ir.filters.some((f) => f.type === 'cache' && (f.config as { redis?: { enabled?: boolean } }).redis?.enabled === true)
}

/** The workers' caches summed: per route, per tier, and each worker's own. */
export function summarize(replies: ReadonlyMap<number, unknown>): Record<string, any> {
  const routes: Record<string, Record<string, number>> = {}
  const memory = { entries: 0, bytes: 0, maxBytes: 0, evictions: 0 }
  const redis: Record<string, number> = Object.fromEntries(REDIS_COUNTS.map((k) => [k, 0]))
  const semantic: SemanticTierView = { entries: 0, bytes: 0, evictions: 0, expired: 0, partitions: 0, hnswPartitions: 0, remembered: 0, warmed: 0, received: 0 }
  let semanticIndexes = 0
  /** Sizes of the shared memory tiers already counted: every worker reports the same one. */
  const sharedSeen = new Set<number>()
  let inFlight = 0
  let removed = 0
  const workers: Record<string, unknown> = {}
  for (const [id, r] of replies) {
    const data = r as WorkerCacheReply
    workers[id] = data.semantic === undefined || data.semantic.length === 0 ? data.caches : { caches: data.caches, semantic: data.semantic }
    removed += data.removed
    for (const s of data.semantic ?? []) {
      semanticIndexes++
      for (const k of ['entries', 'bytes', 'evictions', 'expired', 'partitions', 'hnswPartitions'] as const) semantic[k] += s[k]
      for (const k of ['remembered', 'warmed', 'received'] as const) semantic[k] += s.counts[k]
    }
    for (const c of data.caches) {
      // A worker's own tier adds up; a shared one (a gateway's, runtime/cache/memory-tier.ts) counts once.
      if (c.memory.shared !== true || !sharedSeen.has(c.memory.maxBytes)) {
        if (c.memory.shared === true) sharedSeen.add(c.memory.maxBytes)
        memory.entries += c.memory.entries
        memory.bytes += c.memory.bytes
        memory.maxBytes += c.memory.maxBytes
        memory.evictions += c.memory.evictions
      }
      inFlight += c.inFlight
      for (const k of REDIS_COUNTS) redis[k] += c.redis[k]
      for (const [route, counts] of Object.entries(c.routes)) {
        const sum = (routes[route] ??= {})
        for (const [k, v] of Object.entries(counts)) sum[k] = (sum[k] ?? 0) + v
      }
    }
  }
  const tiers: Record<string, unknown> = { memory, redis }
  if (semanticIndexes > 0) tiers.semantic = semantic
  return { entries: memory.entries, bytes: memory.bytes, evictions: memory.evictions, inFlight, routes, tiers, workers, removed }
}

/** Bumps the generation `by` names (and the epoch); resolves to the new generation. */
export async function invalidateRedis(conn: RedisConnection, prefix: string, by: CachePurge): Promise<number> {
  const key = prefix + GEN_KEY
  const results = await conn.run((c) => c.multi().hincrby(key, fieldOf(by), 1).hincrby(key, EPOCH_FIELD, 1).exec())
  const first = results?.[0]
  if (first === undefined || first[0] !== null) throw new Error(String(first?.[0] ?? 'no reply'))
  return Number(first[1])
}

/** Entries and value bytes of the Redis tier, by a bounded SCAN of every master. */
export async function redisTierView(conn: RedisConnection, prefix: string): Promise<RedisTierView> {
  const client = conn.client
  const nodes: Redis[] = 'nodes' in client && typeof (client as Cluster).nodes === 'function' && (client as Cluster).isCluster ? (client as Cluster).nodes('master') : [client as Redis]
  const deadline = Date.now() + SCAN_BUDGET_MS
  let entries = 0
  let bytes = 0
  let complete = true
  for (const node of nodes) {
    let cursor = '0'
    do {
      if (entries >= SCAN_BUDGET_KEYS || Date.now() > deadline) {
        complete = false
        break
      }
      const [next, keys] = await conn.run(() => node.scan(cursor, 'MATCH', `${prefix}cache:e:*`, 'COUNT', 1000))
      cursor = next
      if (keys.length === 0) continue
      const sizes = await conn.run(() => Promise.all(keys.map((k) => node.hstrlen(k, 'v'))))
      for (const n of sizes) {
        if (n > 0) {
          entries++
          bytes += n
        }
      }
    } while (cursor !== '0')
  }
  return { entries, bytes, complete }
}

/**
 * The cache series for /metrics, from the summed worker view (and the Redis tier when counted):
 * per route by result, per tier entries / bytes / capacity / evictions, the Redis tier's own work.
 */
export function cacheFamilies(view: Record<string, any>, redisTier: RedisTierView | undefined): MetricJSON[] {
  const routes = view.routes as Record<string, Record<string, number>>
  const requests: MetricJSON['values'] = []
  const stored: MetricJSON['values'] = []
  const notAdmitted: MetricJSON['values'] = []
  const embedFailures: MetricJSON['values'] = []
  const semantic = view.tiers.semantic as SemanticTierView | undefined
  for (const [route, c] of Object.entries(routes)) {
    for (const result of OUTCOMES) if (result !== 'stored') requests.push({ labels: { route, result }, value: c[result] ?? 0 })
    stored.push({ labels: { route }, value: c.stored ?? 0 })
    notAdmitted.push({ labels: { route }, value: c.admissionRejected ?? 0 })
    // Only routes that asked the semantic tier: the others would carry rows of zeros.
    if (semantic === undefined || !((c.semanticHit ?? 0) + (c.semanticMiss ?? 0) + (c.embedTimeout ?? 0) + (c.embedError ?? 0) > 0)) continue
    requests.push({ labels: { route, result: 'semantic-hit' }, value: c.semanticHit ?? 0 }, { labels: { route, result: 'semantic-miss' }, value: c.semanticMiss ?? 0 })
    embedFailures.push({ labels: { route, reason: 'timeout' }, value: c.embedTimeout ?? 0 }, { labels: { route, reason: 'error' }, value: c.embedError ?? 0 })
  }
  const memory = view.tiers.memory as { entries: number; bytes: number; maxBytes: number; evictions: number }
  const redis = view.tiers.redis as Record<string, number>
  const gauge = (name: string, help: string, values: MetricJSON['values']): MetricJSON => ({ name, help, type: 'gauge', aggregator: 'sum', values })
  const counter = (name: string, help: string, values: MetricJSON['values']): MetricJSON => ({ name, help, type: 'counter', aggregator: 'sum', values })
  const tierValues = (memoryValue: number, redisValue: number | undefined, semanticValue?: number) => [
    { labels: { tier: 'memory' }, value: memoryValue },
    ...(redisValue === undefined ? [] : [{ labels: { tier: 'redis' }, value: redisValue }]),
    ...(semanticValue === undefined ? [] : [{ labels: { tier: 'semantic' }, value: semanticValue }]),
  ]
  if (requests.length === 0 && memory.maxBytes === 0) return []
  return [
    counter('switchyard_cache_requests_total', 'Requests the response cache considered, by route and result: hit, miss (went upstream), bypass (not cacheable or Cache-Control: no-store), refresh (Cache-Control: no-cache); with the semantic tier also semantic-hit (answered from a similar prompt) and semantic-miss (looked up, nothing close enough: also counted as a miss).', requests),
    counter('switchyard_cache_stored_total', 'Answers stored in the response cache, by the route that filled them.', stored),
    counter('switchyard_cache_admission_rejected_total', 'Misses whose answer was not stored because the memory tier was at its bound and the key had not been asked for recently (admission: seen_twice_when_full), by route.', notAdmitted),
    gauge('switchyard_cache_entries', 'Entries held, by tier (memory: the process’s tiers, each counted once; redis: a bounded scan, stale entries included until their TTL; semantic: indexed prompts, summed over worker threads).', tierValues(memory.entries, redisTier?.entries, semantic?.entries)),
    gauge('switchyard_cache_bytes', 'Bytes held, by tier (memory: encoded entries, keys and overhead; redis: stored values, compressed; semantic: the indexes\' estimate).', tierValues(memory.bytes, redisTier?.bytes, semantic?.bytes)),
    gauge('switchyard_cache_max_bytes', 'The memory tiers\' byte bound (each tier once; the worker threads of a process share them).', [{ labels: { tier: 'memory' }, value: memory.maxBytes }]),
    counter('switchyard_cache_evictions_total', 'Entries dropped to stay within their bound, by tier: memory (bytes), semantic (entries or bytes); expiries and invalidations not counted.', [
      { labels: { tier: 'memory' }, value: memory.evictions }, ...(semantic === undefined ? [] : [{ labels: { tier: 'semantic' }, value: semantic.evictions }]),
    ]),
    counter('switchyard_cache_redis_lookups_total', 'Redis tier lookups by result: hit, miss, stale (invalidated by DELETE /cache).', [
      { labels: { result: 'hit' }, value: redis.hits }, { labels: { result: 'miss' }, value: redis.misses }, { labels: { result: 'stale' }, value: redis.stale },
    ]),
    counter('switchyard_cache_redis_writes_total', 'Entries written to the Redis tier.', [{ labels: {}, value: redis.writes }]),
    counter('switchyard_cache_redis_failures_total', 'Redis tier calls that failed or timed out (each a miss, a dropped write or a lock not taken; never a failed request).', [{ labels: {}, value: redis.failures }]),
    ...(semantic === undefined ? [] : [counter('switchyard_cache_embedding_failures_total', 'Semantic lookups without a vector, by route and reason: timeout (the semantic block\'s own) or error (status, unreadable answer); each answered as a miss.', embedFailures)]),
    counter('switchyard_cache_lock_waits_total', 'Misses that waited for another worker\'s or host\'s single-flight lock, by how they ended: served (its answer) or upstream (went on their own).', [
      { labels: { result: 'served' }, value: redis.lockServed }, { labels: { result: 'upstream' }, value: redis.lockWaits - redis.lockServed },
    ]),
  ]
}

/** How old a Redis tier count /metrics may show (a scrape starts a new count when it is older). */
export const REDIS_VIEW_MAX_AGE_MS = 15_000

/** The supervisor's part: /cache, DELETE /cache, and the cache families of /metrics. */
export class CacheAdmin {
  private tier: { at: number; key: string; view: Promise<RedisTierView | undefined> } | undefined

  constructor(
    /** Every worker's reply to a cache query (after removing `purge`'s entries). */
    private readonly query: (purge?: CachePurge) => Promise<ReadonlyMap<number, unknown>>,
    /** The main thread's connection to the config's redis block. */
    private readonly redisOf: (ir: SnapshotIR) => RedisConnection | undefined,
  ) {}

  /** GET /cache (no purge) or DELETE /cache: Redis generations first, so no worker re-fills its memory from a stale entry. */
  async describe(ir: SnapshotIR, purge?: CachePurge): Promise<Record<string, unknown>> {
    const conn = usesRedisCache(ir) ? this.redisOf(ir) : undefined
    const prefix = ir.redis?.keyPrefix ?? 'sy:'
    let invalidated: Record<string, unknown> | undefined
    if (conn !== undefined && purge !== undefined) {
      try {
        invalidated = { field: fieldOf(purge), generation: await invalidateRedis(conn, prefix, purge) }
      } catch (e) {
        invalidated = { error: `redis: ${(e as Error).message}` }
      }
      this.tier = undefined
    }
    const view = summarize(await this.query(purge))
    if (purge === undefined) delete view.removed
    else if (invalidated !== undefined) view.redisInvalidated = invalidated
    if (conn !== undefined) {
      const tier = await this.redisTier(conn, prefix, 0).catch((e: Error) => ({ error: `redis: ${e.message}` }))
      view.tiers.redis = { ...view.tiers.redis, ...tier }
    }
    return view
  }

  async families(ir: SnapshotIR): Promise<MetricJSON[]> {
    const conn = usesRedisCache(ir) ? this.redisOf(ir) : undefined
    const [replies, tier] = await Promise.all([this.query(), conn === undefined ? undefined : this.redisTier(conn, ir.redis!.keyPrefix, REDIS_VIEW_MAX_AGE_MS).catch(() => undefined)])
    return cacheFamilies(summarize(replies), tier)
  }

  /** One scan at a time; a result younger than `maxAgeMs` is reused. */
  private redisTier(conn: RedisConnection, prefix: string, maxAgeMs: number): Promise<RedisTierView | undefined> {
    const now = Date.now()
    const t = this.tier
    if (t !== undefined && t.key === prefix && now - t.at <= maxAgeMs) return t.view
    const view = redisTierView(conn, prefix)
    this.tier = { at: now, key: prefix, view: view.catch(() => undefined) }
    return view
  }
}
