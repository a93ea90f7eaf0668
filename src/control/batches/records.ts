/**
 * The file and batch records kept in the metadata bucket, and the OpenAI objects shown to callers
 * (`file`, `batch`, `list`). Fields without an underscore-free OpenAI name are internal: who owns
 * the record and where its lines run; they never leave the gateway.
 */
import type { Identity } from '../../runtime/types.js'

export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled'
/** A batch in one of these states still answers lines; any other ends it. */
export const RUNNABLE: ReadonlySet<BatchStatus> = new Set(['validating', 'in_progress'])
export const TERMINAL: ReadonlySet<BatchStatus> = new Set(['failed', 'completed', 'expired', 'cancelled'])

export interface FileRecord {
  readonly id: string
  readonly bytes: number
  readonly created_at: number
  readonly filename: string
  readonly purpose: string
  /** batch_output for the files a batch wrote. */
  readonly owner: string | undefined
}

export interface BatchError {
  readonly code: string
  readonly message: string
  readonly param: string | null
  readonly line: number | null
}

export interface BatchRecord {
  readonly id: string
  readonly endpoint: string
  readonly input_file_id: string
  readonly completion_window: string
  status: BatchStatus
  output_file_id: string | null
  error_file_id: string | null
  readonly created_at: number
  in_progress_at: number | null
  readonly expires_at: number
  finalizing_at: number | null
  completed_at: number | null
  failed_at: number | null
  expired_at: number | null
  cancelling_at: number | null
  cancelled_at: number | null
  request_counts: { total: number; completed: number; failed: number }
  readonly metadata: Record<string, string> | null
  errors: { object: 'list'; data: BatchError[] } | null
  // ---- internal
  readonly owner: string | undefined
  readonly identity: Identity | undefined
  readonly listener: string
  readonly port: number
  /** Lines queued (valid) and refused at validation (invalid, answered in the error file). */
  readonly lines: number
  readonly invalid: number
  /** How the batch ends once finalizing: set with status `finalizing`. */
  ending?: 'completed' | 'expired' | 'cancelled'
}

/** Who owns what: the tenant of the caller, or nobody on a listener without auth. */
export function ownerOf(identity: Identity | undefined): string | undefined {
  return identity?.tenant
}

export function publicFile(f: FileRecord): Record<string, unknown> {
  return { id: f.id, object: 'file', bytes: f.bytes, created_at: f.created_at, filename: f.filename, purpose: f.purpose, status: 'processed', status_details: null, expires_at: null }
}

export function publicBatch(b: BatchRecord): Record<string, unknown> {
  return {
    id: b.id, object: 'batch', endpoint: b.endpoint, errors: b.errors, input_file_id: b.input_file_id, completion_window: b.completion_window,
    status: b.status, output_file_id: b.output_file_id, error_file_id: b.error_file_id, created_at: b.created_at, in_progress_at: b.in_progress_at,
    expires_at: b.expires_at, finalizing_at: b.finalizing_at, completed_at: b.completed_at, failed_at: b.failed_at, expired_at: b.expired_at,
    cancelling_at: b.cancelling_at, cancelled_at: b.cancelled_at, request_counts: b.request_counts, metadata: b.metadata,
  }
}

export const fileKey = (id: string) => `file.${id}`
export const batchKey = (id: string) => `batch.${id}`
export const nowSeconds = () => Math.floor(Date.now() / 1000)
