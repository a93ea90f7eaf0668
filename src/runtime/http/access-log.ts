/**
 * The access log: one record per request on a listener with `access_log: true` (or every listener
 * with SWITCHYARD_ACCESS_LOG=1), written by the worker that served it (shared/log.ts access()).
 * Built once per snapshot and listener; respond.ts calls write() when the request is over.
 *
 * What it holds, and what it never holds: names, numbers and ids only — never a header, a query
 * value or a body. `path` is the path without its query string (`?key=` may be a credential).
 *
 * @example
 * const accessLog = createAccessLog(prices)   // build/snapshot.ts, per listener
 * accessLog.write(ctx)                        // respond.ts complete()
 */
import type { RequestContext } from '../types.js'
import type { PriceTable } from '../limits/budget.js'
import { access, redactQuery } from '../../shared/log.js'
import { traceIdOf } from '../telemetry/tracing/trace-id.js'

export interface AccessLog {
  write(ctx: RequestContext): void
}

/** Whether SWITCHYARD_ACCESS_LOG=1 turns the access log on for every listener (read once per thread). */
export const ACCESS_LOG_EVERYWHERE = process.env.SWITCHYARD_ACCESS_LOG === '1'

const round1 = (ms: number) => Math.round(ms * 10) / 10

export function createAccessLog(prices: PriceTable | undefined): AccessLog {
  return {
    write(ctx) {
      const u = ctx.usage
      const served = ctx.servedModel
      const requested = ctx.head.model
      const endpoint = ctx.endpoint
      const cost = u !== undefined && prices !== undefined ? prices.costOf(served ?? requested ?? '', u) : undefined
      // Field order matters for the pretty format people grep: ids, what was asked, who answered, numbers.
      access({
        time: new Date().toISOString(),
        id: ctx.id,
        request_id: ctx.requestId,
        trace_id: traceIdOf(ctx) ?? null,
        method: ctx.head.method,
        path: ctx.head.path,
        status: ctx.downstream.aborted && ctx.status === 0 ? 'aborted' : ctx.status,
        listener: ctx.listener.name,
        route: ctx.route?.name ?? null,
        tenant: ctx.head.identity?.tenant ?? null,
        model: requested ?? null,
        served_model: served ?? null,
        cluster: ctx.cluster?.name ?? null,
        endpoint: endpoint?.name ?? null,
        endpoint_url: endpoint === undefined ? null : endpoint.url.includes('?') ? redactQuery(endpoint.url) : endpoint.url,
        attempts: ctx.attempt?.attempts ?? (endpoint ? 1 : 0),
        // Streams only: the first body bytes the caller got (the first event); a whole answer has only a duration.
        ttft_ms: ctx.firstByteAt > 0 && (ctx.json?.stream === true || ctx.head.path.includes(':streamGenerateContent')) ? round1(ctx.firstByteAt - ctx.startedAt) : null,
        duration_ms: round1(performance.now() - ctx.startedAt),
        ...(u && { input_tokens: u.inputTokens, output_tokens: u.outputTokens, ...(u.cachedInputTokens && { cached_tokens: u.cachedInputTokens }), ...(u.reasoningTokens && { reasoning_tokens: u.reasoningTokens }) }),
        ...(cost !== undefined && { cost_nanos: cost }),
        bytes_in: ctx.bytesIn,
        bytes_out: ctx.bytesOut,
      })
    },
  }
}
