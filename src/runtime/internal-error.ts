/**
 * The per-request error boundary: an exception anywhere in dispatch, a filter, translation, the
 * upstream handler or a timer of one request fails that request — `500` in the caller's protocol
 * when nothing was sent yet, an error event on a started stream, a closed connection otherwise —
 * and is logged with the request id and counted. It never escapes to the worker.
 */
import type { RequestContext } from './types.js'
import { complete, failStream, sendError } from './http/respond.js'
import { log } from '../shared/log.js'
import { PluginFailure, answerPluginFailure } from './plugins/js/failure.js'

let count = 0

/** Internal errors this worker has absorbed since it started. */
export function internalErrors(): number {
  return count
}

export function failInternally(ctx: RequestContext, where: string, e: unknown): void {
  // A plugin's failure is no gateway bug: the plugin filter logged and counted it already.
  if (e instanceof PluginFailure) return answerSafely(ctx, () => answerPluginFailure(ctx, e))
  count++
  const err = e as Error | undefined
  // The top frame says where; the client gets none of it.
  const frame = typeof err?.stack === 'string' ? err.stack.split('\n')[1]?.trim() : undefined
  log('error', 'request failed inside the gateway', {
    id: ctx.id, where, route: ctx.route?.name ?? '-', error: err?.message ?? String(e), ...(frame && { at: frame }), internal_errors: count,
  })
  answerSafely(ctx, () => {
    if (ctx.finished) return
    const message = `internal gateway error (request ${ctx.id})`
    if (ctx.status === 0) return sendError(ctx, 'SY_INTERNAL', message)
    const type = ctx.responseHeaders.find(([k]) => k === 'content-type')?.[1] ?? ''
    if (type.startsWith('text/event-stream')) return failStream(ctx, 'SY_INTERNAL', message)
    ctx.downstream.close()
    complete(ctx)
  })
}

function answerSafely(ctx: RequestContext, answer: () => void): void {
  try {
    answer()
  } catch (again) {
    // Answering failed too (a filter hook threw again): drop the connection, keep the worker.
    log('error', 'could not answer a failed request', { id: ctx.id, error: (again as Error)?.message ?? String(again) })
    try {
      if (!ctx.downstream.aborted) ctx.downstream.close()
    } catch {}
    complete(ctx)
  }
}

/** Runs `fn` for one request inside the boundary (timers, microtasks, undici callbacks). */
export function guarded(ctx: RequestContext, where: string, fn: () => void): void {
  try {
    fn()
  } catch (e) {
    failInternally(ctx, where, e)
  }
}
