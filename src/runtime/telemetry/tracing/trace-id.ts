/**
 * The trace id a request's log lines carry (the access log's `trace_id`), the same one its spans use:
 * - sampled (the gateway records spans): the server span's trace id, whether the caller's
 *   `traceparent` supplied it or the gateway started the trace;
 * - not sampled, or tracing not configured: the trace id of the caller's valid W3C `traceparent`
 *   (the caller's own spans use it);
 * - otherwise none. A request the gateway does not sample and that brought no `traceparent` starts
 *   no trace: no id is made for it and no `traceparent` goes upstream, so sampling 0 costs nothing
 *   and a log line never names a trace that no span has.
 * Read on access-logged requests only, after the onComplete hooks (the tracing filter's among them).
 */
import type { RequestContext } from '../../types.js'
import { parseTraceparent } from './trace-context.js'

/** Where request-tracing.ts keeps a request's trace on ctx.filterState (filter names are identifiers, so no filter can have this one). */
export const TRACE_STATE = '$trace'

/** What ctx.filterState[TRACE_STATE] holds: a RequestTrace (sampled) or the shared not-sampled marker. */
interface TraceState {
  readonly sampled: boolean
  readonly traceId?: string
}

export function traceIdOf(ctx: RequestContext): string | undefined {
  const s = ctx.filterState?.[TRACE_STATE] as TraceState | undefined
  if (s?.sampled === true) return s.traceId
  const header = ctx.head.headers.traceparent
  return header === undefined ? undefined : parseTraceparent(header)?.traceId
}
