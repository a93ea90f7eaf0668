/**
 * How a plugin ends one request: its hook threw or rejected (`SY_PLUGIN_FAILED`, 500), or it
 * stopped an answer already under way with ctx.reply() (`SY_PLUGIN_STOPPED`). Either travels as a
 * thrown PluginFailure to the request's error boundary (internal-error.ts), which calls
 * answerPluginFailure: the same ends as any failed request, in the caller's protocol, never the worker.
 */
import type { RequestContext } from '../../types.js'
import { complete, failStream, sendError, sendReply } from '../../http/respond.js'
import { statusErrorReply } from '../../errors.js'

export type PluginHookName = 'onRequest' | 'onResponse' | 'onChunk' | 'onComplete'

export class PluginFailure extends Error {
  constructor(
    readonly code: 'SY_PLUGIN_FAILED' | 'SY_PLUGIN_STOPPED',
    readonly plugin: string,
    readonly hook: PluginHookName,
    message: string,
    /** The status a plugin's ctx.reply() asked for (SY_PLUGIN_STOPPED). */
    readonly status?: number,
  ) {
    super(message)
  }
}

export function answerPluginFailure(ctx: RequestContext, e: PluginFailure): void {
  if (ctx.finished) return
  const type = ctx.responseHeaders.find(([k]) => k === 'content-type')?.[1] ?? ''
  const stream = type.startsWith('text/event-stream')
  // Nothing sent yet (onRequest; onResponse threw before the head went out; a whole JSON body
  // stopped before its first byte left): the status can still change.
  if (ctx.status === 0 || e.hook === 'onResponse' || (!stream && ctx.downstream.started === false)) {
    return e.status !== undefined ? sendReply(ctx, statusErrorReply(ctx.protocol, 'SY_PLUGIN_REPLY', e.status, e.message)) : sendError(ctx, e.code, e.message)
  }
  if (stream) return failStream(ctx, e.code, e.message)
  // A whole body already on its way cannot change its status: a truncated JSON body must not look complete.
  ctx.downstream.close()
  complete(ctx)
}
