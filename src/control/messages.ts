/**
 * What crosses between the main thread and the worker threads (WorkerData at spawn, ToWorker and
 * FromWorker messages), and the gateway status the main thread keeps from them for the admin API.
 * Types only: both sides import this, neither imports the other.
 */
import type { SnapshotIR } from '../compiler/ir.js'
import type { FilterProblem } from '../compiler/index.js'
import type { ConfigSource } from './sources/source.js'
import type { WorkerMetricsReport } from '../runtime/telemetry/request-metrics.js'

export interface WorkerData {
  readonly shared: SharedArrayBuffer
  /** Worker threads in this process: cluster-wide caps (max_connections) are split over them. */
  readonly workers: number
  /** The process's `scope: local` limit buckets (LimitTable), shared by every worker. */
  readonly limits?: SharedArrayBuffer
  /** The worker's port to the main thread's session memory stores (src/shared/session-memory.ts). */
  readonly sessions?: import('node:worker_threads').MessagePort
  /** Unique to this worker pool: the workers' BroadcastChannels to their siblings are named after it (the semantic cache). */
  readonly group?: string
}

/** A snapshot to build and serve, with the shared-state slot of every cluster and endpoint key it uses. */
/** `caches`: the process's shared response-cache memory tiers by size in bytes (control/cache-buffers.ts). */
export type SnapshotMessage = { type: 'snapshot'; ir: SnapshotIR; slots: Record<string, number>; caches: Record<number, SharedArrayBuffer> }
/** Build `ir` as a snapshot would be built, serve nothing from it, and answer with the filters' objections (a reload's dry build). */
export type DryBuildMessage = { type: 'dry-build'; id: number; ir: SnapshotIR }
export type ToWorker = SnapshotMessage | DryBuildMessage | { type: 'drain' } | { type: 'destroy' } | { type: 'clusters'; id: number } | { type: 'metrics'; id: number } | CacheQuery | ProfileMessage | import('./batches/messages.js').BatchToWorker
/** The response caches' state, after removing the entries of `purge` (a route and/or a tenant; `{}` is all). */
export type CacheQuery = { type: 'cache'; id: number; purge?: CachePurge }
export interface CachePurge { readonly route?: string; readonly tenant?: string }
/** Admin /debug/profile and /debug/heap: one worker profiles itself (runtime/profiler.ts). */
export type ProfileMessage = { type: 'profile'; id: number } & import('../runtime/profiler.js').ProfileRequest
export type FromWorker =
  | { type: 'started'; worker: number; uws: 'native' | 'fallback' }
  | { type: 'applied'; worker: number; version: string; ports: number[]; failed: { port: number; error: string }[] }
  | { type: 'apply-failed'; worker: number; version: string; error: string; problems?: readonly FilterProblem[] }
  | { type: 'dry-build'; worker: number; id: number; problems: readonly FilterProblem[]; error?: string }
  | { type: 'drained'; worker: number }
  | { type: 'clusters'; worker: number; id: number; data: Record<string, unknown> }
  | { type: 'metrics'; worker: number; id: number; data: WorkerMetricsReport }
  | { type: 'cache'; worker: number; id: number; data: Record<string, unknown> }
  | ({ type: 'profile'; worker: number; id: number } & import('../runtime/profiler.js').ProfileResult)
  | import('./batches/messages.js').BatchFromWorker

export interface WorkerStatus {
  id: number
  uws: 'native' | 'fallback' | 'unknown'
  version: string | undefined
  ports: number[]
  error: string | undefined
  /** The filters that rejected their config when this worker built its snapshot (the first start's dry build). */
  problems?: readonly FilterProblem[]
  /** Set when the worker reports its drain done (shutdown). */
  drained?: boolean
}

/** The outcome of the latest reload: applied (or unchanged) at `version`, or rejected with its errors. */
export interface LastReload {
  readonly at: string
  readonly ok: boolean
  readonly version?: string
  readonly errors?: string[]
}

/** What the admin API reads; the supervisor keeps it current (the admin API never writes it). */
export interface GatewayStatus {
  readonly ir: SnapshotIR
  readonly loadedAt: string
  readonly lastReload: LastReload | undefined
  readonly workers: readonly WorkerStatus[]
  readonly shuttingDown: boolean
  /** Per-cluster, per-endpoint state for the admin API. */
  readonly clusters?: () => Promise<Record<string, unknown>>
  /** The configs applied, newest first (config-history.ts). */
  readonly history?: import('./config-history.js').ConfigHistory
  /** The response caches of every worker (counts per route, bytes and entries), after an optional purge. */
  readonly cache?: (purge?: CachePurge) => Promise<Record<string, unknown>>
  /** Limits and spend of a tenant (and key), and Redis health (limit-usage.ts). */
  readonly limits?: {
    describe(ir: SnapshotIR, tenant: string, keyId: string | undefined): Promise<unknown>
    health(ir: SnapshotIR): { ready: boolean; required: boolean } | undefined
  }
  /** GET / DELETE /sessions/<id>?tenant=: the `session` filters' conversations (session-admin.ts). */
  readonly sessions?: import('./session-admin.js').SessionAdmin
  /** GET /metrics: Prometheus text over every worker and the main thread. */
  readonly metrics?: () => Promise<string>
  /** GET /experiments: the weighted splits with what each variant got. */
  readonly experiments?: () => Promise<unknown>
  /** GET /rollouts and its commands: the progressive canaries (rollouts.ts). */
  readonly rollouts?: import('./rollouts.js').Rollouts
  /** POST /debug/profile and /debug/heap: one worker's CPU profile or heap snapshot (undefined worker: the first). */
  readonly profile?: (worker: number | undefined, request: import('../runtime/profiler.js').ProfileRequest) => Promise<import('../runtime/profiler.js').ProfileResult & { worker?: number }>
  readonly source: ConfigSource
}
