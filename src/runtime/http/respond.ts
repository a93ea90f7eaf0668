/**
 * Response lifecycle shared by providers and local replies: head (onResponse hooks), chunks
 * (onChunk hooks), end (onComplete hooks, in-flight accounting). Hot path: keep flat.
 */
import type { RequestContext, LocalReply } from '../types.js'
import { errorReply, responsesErrorEvent, streamErrorEvent, type RuntimeErrorCode } from '../errors.js'
import { operationOf } from '../providers/caller.js'

export function startResponse(ctx: RequestContext, status: number, headers: [string, string][]): void {
  ctx.status = status
  ctx.responseHeaders = headers
  // Ours is the request id the caller sees; an upstream's own (OpenAI sends one) stays visible under another name.
  for (let i = 0; i < headers.length; i++) if (headers[i][0] === 'x-request-id') headers[i] = ['x-upstream-request-id', headers[i][1]]
  headers.push(['x-request-id', ctx.requestId])
  const cluster = ctx.cluster
  if (cluster !== undefined && ctx.endpoint !== undefined && ctx.listener.routingHeaders) {
    // Who answered (an A/B variant, a fallback): names only, never an internal URL.
    headers.push(['x-switchyard-cluster', cluster.name], ['x-switchyard-endpoint', ctx.endpoint.name])
    if (ctx.attempt !== undefined) headers.push(['x-switchyard-attempts', String(ctx.attempt.attempts)])
  }
  const hooks = ctx.chain.onResponse
  for (let i = 0; i < hooks.length; i++) hooks[i].onResponse!(ctx)
  // ctx.status, not `status`: an onResponse hook may change it (a WASM plugin's :status, or its local reply).
  if (!ctx.downstream.aborted) ctx.downstream.writeHead(ctx.status, ctx.responseHeaders)
}

/**
 * The filters' onChunk hooks, for body bytes on their way to the client: the one place they run.
 * Returns the bytes to send (a hook may replace them); `last` marks the answer's final bytes.
 */
export function passChunk(ctx: RequestContext, chunk: Uint8Array, last = false): Uint8Array {
  const hooks = ctx.chain.onChunk
  for (let i = 0; i < hooks.length; i++) {
    const r = hooks[i].onChunk!(ctx, chunk, last)
    if (r !== undefined) chunk = r
  }
  return chunk
}

/** Returns false when the client is congested: pause the source until downstream.onWritable. */
export function sendChunk(ctx: RequestContext, chunk: Uint8Array): boolean {
  if (ctx.chain.onChunk.length > 0) {
    chunk = passChunk(ctx, chunk)
    // A filter holding bytes back: nothing to write (an empty write would start the body).
    if (chunk.length === 0) return true
  }
  if (ctx.downstream.aborted) return true
  if (ctx.listener.accessLog !== undefined) countOut(ctx, chunk.length)
  return ctx.downstream.write(chunk)
}

export function finishResponse(ctx: RequestContext, last?: Uint8Array | string): void {
  if (ctx.finished) return
  if (!ctx.downstream.aborted) {
    if (last !== undefined && ctx.listener.accessLog !== undefined) countOut(ctx, typeof last === 'string' ? Buffer.byteLength(last) : last.length)
    ctx.downstream.end(last)
  }
  complete(ctx)
}

/** Marks the request over (also used when the client went away). Idempotent. */
export function complete(ctx: RequestContext): void {
  if (ctx.finished) return
  ctx.finished = true
  const hooks = ctx.chain.onComplete
  for (let i = 0; i < hooks.length; i++) {
    try {
      hooks[i].onComplete!(ctx)
    } catch {
      // A filter's bookkeeping must not turn a finished response into a crash.
    }
  }
  ctx.attempt?.release()
  ctx.listener.accessLog?.write(ctx)
  const done = ctx.onDone
  ctx.onDone = undefined
  done?.()
}

export function sendReply(ctx: RequestContext, reply: LocalReply): void {
  if (ctx.finished) return
  startResponse(ctx, reply.status, reply.headers.map(([k, v]) => [k, v]))
  finishResponse(ctx, reply.body)
}

export function sendError(ctx: RequestContext, code: RuntimeErrorCode, message: string): void {
  sendReply(ctx, errorReply(ctx.protocol, code, message))
}

/** A stream that already started cannot change its status: end it with an error event instead. */
export function failStream(ctx: RequestContext, code: RuntimeErrorCode, message: string): void {
  if (ctx.finished) return
  finishResponse(ctx, operationOf(ctx.head.path) === 'responses' ? responsesErrorEvent(code, message) : streamErrorEvent(ctx.protocol, code, message))
}

/** Access-log accounting: when the first body bytes left, and how many. */
function countOut(ctx: RequestContext, n: number): void {
  if (n === 0) return
  if (ctx.firstByteAt === 0) ctx.firstByteAt = performance.now()
  ctx.bytesOut += n
}
