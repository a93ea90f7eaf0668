/**
 * The worker's half of the Batch API: a `/v1/files…` or `/v1/batches…` request on a listener that
 * serves it (after the listener's auth filters, so the batch service knows who asks) is posted to
 * the main thread, which owns the NATS connection and the file store (control/batches/api.ts), and
 * its answer is written back. The relay is installed by worker.ts; elsewhere (the dry build) no
 * request reaches it.
 */
import type { RequestContext } from '../types.js'
import type { BatchApiReply, BatchApiRequest, BatchFromWorker } from '../../control/batches/messages.js'
import { sendError, sendReply } from '../http/respond.js'

/** Longer than any answer the service gives (it bounds its own NATS calls); a stuck main thread is not the caller's fault. */
const RELAY_TIMEOUT_MS = 60_000

let post: ((m: BatchFromWorker) => void) | undefined
let worker = 0
let nextId = 0
const pending = new Map<number, { ctx: RequestContext; timer: NodeJS.Timeout }>()

export function installBatchRelay(threadId: number, send: (m: BatchFromWorker) => void): void {
  worker = threadId
  post = send
}

/** Whether the path is one of the Batch API's: `/v1/files`, `/v1/batches` and anything below them. */
export function isBatchApiPath(path: string): boolean {
  return path.startsWith('/v1/') && (isUnder(path, '/v1/files') || isUnder(path, '/v1/batches'))
}

function isUnder(path: string, base: string): boolean {
  return path.startsWith(base) && (path.length === base.length || path.charCodeAt(base.length) === 47)
}

export function relayBatchApi(ctx: RequestContext): void {
  if (post === undefined) return sendError(ctx, 'SY_BATCHES_UNAVAILABLE', 'the batch service is not running in this process')
  const id = ++nextId
  const body = ctx.body
  const request: BatchApiRequest = {
    method: ctx.head.method,
    path: ctx.head.path,
    query: ctx.head.query,
    contentType: ctx.headers['content-type'],
    body: body === undefined ? undefined : new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
    listener: ctx.listener.name,
    port: ctx.listener.port,
    identity: ctx.head.identity,
  }
  const timer = setTimeout(() => settle(id, undefined), RELAY_TIMEOUT_MS)
  pending.set(id, { ctx, timer })
  post({ type: 'batch-api', worker, id, request })
}

/** The main thread's answer (or none, after the timeout). */
export function settleBatchApi(id: number, reply: BatchApiReply): void {
  settle(id, reply)
}

function settle(id: number, reply: BatchApiReply | undefined): void {
  const p = pending.get(id)
  if (p === undefined) return
  pending.delete(id)
  clearTimeout(p.timer)
  if (reply === undefined) return sendError(p.ctx, 'SY_BATCHES_UNAVAILABLE', `the batch service did not answer within ${RELAY_TIMEOUT_MS / 1000} s`)
  sendReply(p.ctx, { status: reply.status, headers: reply.headers, body: Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength) })
}
