/**
 * State that outlives snapshots (DESIGN invariant 3), keyed by stable identity.
 * One instance per worker thread. Pools are reference-counted by the snapshots that use them and
 * closed when the last one retires, so a reload never drops warm connections of unchanged endpoints.
 */
import type { Socket } from 'node:net'
import type { Dispatcher } from 'undici'
import { Pool, buildConnector, errors, type Connector } from './undici.js'
import type { PoolOptions, PoolStore, Stores } from './types.js'
import { CELLS_PER_ENDPOINT, ClusterStats, EndpointStats, RolloutShare } from '../shared/shared-state.js'
import { createAuthFailureLimiter, type AuthFailureLimiter } from './identity/auth-failures.js'
import { createJwksSource, type JwksSource } from './identity/jwks-source.js'
import { LimitTable } from './limits/local-limiter.js'
import { RedisConnection } from './limits/redis-connection.js'
import type { RedisIR } from '../compiler/ir.js'
import { CacheStore } from './cache/cache-store.js'
import type { MessagePort } from 'node:worker_threads'
import { SessionMemory } from '../shared/session-memory.js'
import { LocalSessionStore, PortSessionChannel, type SessionStore } from './sessions/session-store.js'
import type { SemanticState } from './cache/semantic/semantic-state.js'
import { createH2Client } from './upstream/h2-client.js'

/**
 * undici's connector with our own connect timer: undici times connects on its coarse timer wheel
 * (≈0.5 s steps, so a 150 ms timeout fires after 0.5–1 s); a route's connect_timeout means what
 * it says. One timer per new connection, not per request.
 */
function connectorWithTimeout(timeoutMs: number, h2?: 'alpn' | 'prior_knowledge'): Connector {
  const connect = buildConnector({ timeout: 0, ...(h2 === 'alpn' && { allowH2: true }) })
  return (opts, callback) => {
    let timer: NodeJS.Timeout | undefined
    let settled = false
    const finish = (err: Error | null, s: Socket | null) => {
      if (settled) return void s?.destroy()
      settled = true
      clearTimeout(timer)
      // h2c: plain TCP has no ALPN, so the HTTP version is told (undici reads it to pick its HTTP/2 client).
      if (!err && h2 === 'prior_knowledge') (s as Socket & { alpnProtocol?: string }).alpnProtocol = 'h2'
      if (err) callback(err, null)
      else callback(null, s!)
    }
    // undici's connector returns the socket (its typings say void).
    const socket = connect(opts, finish) as unknown as Socket | undefined
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        const e = new errors.ConnectTimeoutError(`connect timeout after ${timeoutMs} ms (${opts.hostname}:${opts.port})`)
        // Destroying with an error reaches `finish` through the connector's own error handler.
        if (socket) socket.destroy(e)
        else finish(e, null)
      }, timeoutMs)
    }
    return socket
  }
}

function createPool(origin: string, opts: PoolOptions): Pool {
  const h2 = opts.protocol === 'http2'
  const streams = opts.maxConcurrentStreams ?? 100
  return new Pool(origin, {
    connections: opts.connections,
    keepAliveTimeout: opts.keepAliveMs,
    keepAliveMaxTimeout: opts.keepAliveMs,
    connect: connectorWithTimeout(opts.connectTimeoutMs, h2 ? (origin.startsWith('https:') ? 'alpn' : 'prior_knowledge') : undefined),
    // LLM answers can take minutes between headers and the last byte; the route timeout governs.
    headersTimeout: 0,
    bodyTimeout: 0,
    // HTTP/2: a connection takes up to `streams` requests at once before the pool opens another.
    pipelining: h2 ? streams : 1,
    ...(h2 && { allowH2: true, maxConcurrentStreams: streams, factory: createH2Client }),
  })
}

class RefCountedPools implements PoolStore {
  private readonly pools = new Map<string, { pool: Dispatcher; refs: number }>()

  acquire(key: string, origin: string, opts: PoolOptions): Dispatcher {
    const hit = this.pools.get(key)
    if (hit) {
      hit.refs++
      return hit.pool
    }
    const pool = opts.create?.() ?? createPool(origin, opts)
    this.pools.set(key, { pool, refs: 1 })
    return pool
  }

  release(key: string): void {
    const hit = this.pools.get(key)
    if (!hit) return
    if (--hit.refs > 0) return
    this.pools.delete(key)
    hit.pool.close().catch(() => hit.pool.destroy().catch(() => {}))
  }

  async closeAll(): Promise<void> {
    const all = [...this.pools.values()]
    this.pools.clear()
    await Promise.all(all.map((p) => p.pool.close().catch(() => p.pool.destroy())))
  }
}

/** What a worker's stores share with the other threads of the process. */
export interface SharedMemory {
  /** The counters (shared-state.ts), slots assigned by the main thread. */
  readonly buffer: SharedArrayBuffer
  readonly slots: Record<string, number>
  readonly workers?: number
  /** The `scope: local` limit buckets (LimitTable.createBuffer). */
  readonly limits?: SharedArrayBuffer
  /** This worker's port to the main thread's session memory stores. */
  readonly sessions?: MessagePort
  /** The worker pool's name (control/worker-pool.ts): sibling workers find each other's BroadcastChannels by it. */
  readonly group?: string
}

export type WorkerStores = Stores & {
  setSlots(slots: Record<string, number>): void
  /** The process's shared response-cache memory tiers by size (control/cache-buffers.ts), sent with every snapshot. */
  setCacheBuffers(buffers: Record<number, SharedArrayBuffer> | undefined): void
  /** Every response cache this worker holds (the admin API's view and invalidation). */
  responseCaches(): CacheStore[]
  /** Every semantic-cache index this worker holds (the admin API's view). */
  semanticStates(): SemanticState[]
  /** Closes what the stores hold open beyond pools (Redis connections). */
  close(): Promise<void>
}

/**
 * `shared`: the process-wide SharedArrayBuffers and the main thread's key → slot table (updated
 * with every snapshot); without it (dry builds, unit tests) counters and limits are local to this
 * store, and Redis connections do not connect until first used (a dry build never uses them).
 */
export function createStores(shared?: SharedMemory): WorkerStores {
  const stats = new Map<string, EndpointStats>()
  const clusters = new Map<string, ClusterStats>()
  const lb = new Map<string, unknown>()
  const failures = new Map<string, AuthFailureLimiter>()
  const jwks = new Map<string, JwksSource>()
  const cells = shared ? new Int32Array(shared.buffer) : undefined
  let slots = shared?.slots ?? {}
  let limitTable: LimitTable | undefined
  const redis = new Map<string, RedisConnection>()
  const caches = new Map<number, CacheStore>()
  let cacheBuffers: Record<number, SharedArrayBuffer> = {}
  const sessionChannel = shared?.sessions !== undefined ? new PortSessionChannel(shared.sessions) : undefined
  const sessions = new Map<number, SessionStore>()
  const semantic = new Map<string, SemanticState>()
  return {
    pools: new RefCountedPools(),
    workers: shared?.workers ?? 1,
    setSlots(next) {
      slots = next
    },
    setCacheBuffers(next) {
      cacheBuffers = next ?? {}
    },
    clusterStats(name) {
      let s = clusters.get(name)
      if (!s) {
        const slot = slots[`cluster:${name}`]
        s = cells && slot !== undefined ? new ClusterStats(cells, slot * CELLS_PER_ENDPOINT) : ClusterStats.local()
        clusters.set(name, s)
      }
      return s
    },
    endpointStats(key, cluster) {
      let s = stats.get(key)
      if (!s) {
        const slot = slots[key]
        s = cells && slot !== undefined ? new EndpointStats(cells, slot * CELLS_PER_ENDPOINT, cluster) : EndpointStats.local(cluster)
        stats.set(key, s)
      }
      return s
    },
    lbState<T>(key: string, init: () => T): T {
      let s = lb.get(key) as T | undefined
      if (s === undefined) lb.set(key, (s = init()))
      return s
    },
    // Keyed by config as well as name: changing a filter's limits starts its counts afresh, a
    // reload that keeps them keeps every block.
    authFailures(key, config) {
      const k = `${key}|${JSON.stringify(config)}`
      let s = failures.get(k)
      if (!s) failures.set(k, (s = createAuthFailureLimiter(config)))
      return s
    },
    jwks(options) {
      const k = JSON.stringify(options)
      let s = jwks.get(k)
      if (!s) jwks.set(k, (s = createJwksSource(options)))
      return s
    },
    limitTable() {
      return (limitTable ??= shared?.limits ? new LimitTable(shared.limits) : LimitTable.local())
    },
    // By every setting: a reload that keeps the block keeps the connection (and its scripts);
    // one that changes it gets a new one. Connections of blocks no snapshot uses any more stay
    // open until the worker exits: a redis block changes rarely.
    redis(config: RedisIR) {
      const k = JSON.stringify(config)
      let c = redis.get(k)
      if (!c) redis.set(k, (c = new RedisConnection({ ...config, name: 'redis', lazy: shared === undefined })))
      return c
    },
    // By size: filters (and reloads) that ask for the same size share the entries — with the other
    // workers too when the main thread sent a buffer of that size (else this worker's own tier).
    responseCache(maxBytes) {
      let c = caches.get(maxBytes)
      if (!c) caches.set(maxBytes, (c = new CacheStore(maxBytes, cacheBuffers[maxBytes])))
      return c
    },
    responseCaches() {
      return [...caches.values()]
    },
    semanticStates() {
      return [...semantic.values()]
    },
    // Only with siblings to reach: one worker, a dry build or a unit test opens no channel.
    ...(shared?.group !== undefined && (shared.workers ?? 1) > 1 && { siblingGroup: shared.group }),
    semanticIndex(key, create) {
      let s = semantic.get(key)
      if (!s) semantic.set(key, (s = create()))
      return s
    },
    // Not cached: a rule's slot is fixed, and this runs once per rollout per snapshot build.
    rolloutShare(key) {
      const slot = slots[`rollout:${key}`]
      return cells && slot !== undefined ? new RolloutShare(cells, slot * CELLS_PER_ENDPOINT) : RolloutShare.local()
    },
    // One per size, like the response cache; in a gateway the records live on the main thread, so
    // every worker sees the same conversations.
    sessions(maxBytes) {
      let s = sessions.get(maxBytes)
      if (!s) sessions.set(maxBytes, (s = sessionChannel?.store(maxBytes) ?? new LocalSessionStore(new SessionMemory(maxBytes))))
      return s
    },
    async close() {
      for (const s of semantic.values()) s.close()
      const all = [...redis.values()]
      redis.clear()
      await Promise.all(all.map((c) => c.close()))
    },
  }
}
