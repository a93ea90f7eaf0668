/**
 * What crosses threads for the batch service, types only: a worker relays Batch API requests to
 * the main thread (api.ts answers them), and the main thread hands each line to a worker to run
 * through dispatch (runtime/batches/line-dispatch.ts).
 */
import type { Identity } from '../../runtime/types.js'

/** A `/v1/files…` or `/v1/batches…` request as the listener received it, after its auth filters. */
export interface BatchApiRequest {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly contentType: string | undefined
  readonly body: Uint8Array | undefined
  /** The listener it arrived on: its lines run there. */
  readonly listener: string
  readonly port: number
  /** Who asked (undefined on a listener without auth filters): a batch belongs to its tenant. */
  readonly identity: Identity | undefined
}

export interface BatchApiReply {
  readonly status: number
  readonly headers: readonly (readonly [string, string])[]
  readonly body: Uint8Array
}

/** One line to run on a worker, as the identity that created its batch. */
export interface BatchLine {
  readonly port: number
  readonly method: string
  readonly path: string
  readonly body: string
  readonly requestId: string
  readonly identity: Identity | undefined
  readonly timeoutMs: number
}

/** What the line got: the status and body of the answer (status 0: it did not finish, see `error`). */
export interface BatchLineResult {
  readonly status: number
  readonly requestId: string
  readonly body: string
  readonly error?: { readonly code: string; readonly message: string }
}

export type BatchToWorker =
  | ({ type: 'batch-line'; id: number } & BatchLine)
  | ({ type: 'batch-api-reply'; id: number } & BatchApiReply)

export type BatchFromWorker =
  | ({ type: 'batch-line'; worker: number; id: number } & BatchLineResult)
  | { type: 'batch-api'; worker: number; id: number; request: BatchApiRequest }
