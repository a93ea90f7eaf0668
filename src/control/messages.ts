/**
 * What crosses between the main thread and the worker threads (WorkerData at spawn, ToWorker and
 * FromWorker messages), and the gateway status the main thread keeps from them for the admin API.
 * Types only: both sides import this, neither imports the other.
 */
import type { SnapshotIR } from '../compiler/ir.js'
import type { ConfigSource } from './sources/source.js'

export interface WorkerData {
  readonly shared: SharedArrayBuffer
  /** Worker threads in this process: cluster-wide caps (max_connections) are split over them. */
  readonly workers: number
}

export type ToWorker = { type: 'snapshot'; ir: SnapshotIR; slots: Record<string, number> } | { type: 'drain' } | { type: 'destroy' } | { type: 'clusters'; id: number }
export type FromWorker =
  | { type: 'started'; worker: number; uws: 'native' | 'fallback' }
  | { type: 'applied'; worker: number; version: string; ports: number[]; failed: { port: number; error: string }[] }
  | { type: 'apply-failed'; worker: number; version: string; error: string }
  | { type: 'drained'; worker: number }
  | { type: 'clusters'; worker: number; id: number; data: Record<string, unknown> }

export interface WorkerStatus {
  id: number
  uws: 'native' | 'fallback' | 'unknown'
  version: string | undefined
  ports: number[]
  error: string | undefined
  /** Set when the worker reports its drain done (shutdown). */
  drained?: boolean
}

export interface GatewayStatus {
  ir: SnapshotIR
  loadedAt: string
  lastReload: { at: string; ok: boolean; version?: string; errors?: string[] } | undefined
  workers: WorkerStatus[]
  shuttingDown: boolean
  /** Per-cluster, per-endpoint state for the admin API. */
  clusters?: () => Promise<Record<string, unknown>>
  source: ConfigSource
}
