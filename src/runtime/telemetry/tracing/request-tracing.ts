/**
 * A worker's request tracing: a SERVER span per request and a CLIENT span per upstream attempt,
 * named and attributed after OpenTelemetry's HTTP and GenAI semantic conventions, made by an
 * AttemptObserver and an onComplete filter exactly like the metrics (nothing else on the request
 * path knows about tracing). No request or response body text is recorded, except on the rules that
 * opt in with `tracing.capture_content` (content-capture.ts: redacted, bounded, sampled requests only).
 *
 * Cost: forSnapshot() returns undefined without `telemetry.tracing`, and nothing is installed. With
 * it, the sampling decision (parent-based ratio) is made once per request before any span exists,
 * so a request that is not sampled costs a header read, a comparison and a marker on
 * ctx.filterState. A sampled one is a RequestTrace and an AttemptSpan per attempt (span-record.ts):
 * typed fields written as the request runs, serialized only when its batch leaves. Every time is a
 * performance.now() reading, so spans share one clock and an attempt always lies inside its request.
 *
 * Propagation: a valid W3C `traceparent` from the caller is the server span's parent; each attempt
 * replaces the `traceparent` the upstream request carries with its own span's context (the caller's
 * `tracestate` passes through untouched). A request that is not sampled forwards the caller's
 * headers unchanged.
 *
 * @example
 * const tracing = new RequestTracing(new TracerHost())
 * const snap = buildSnapshot(ir, stores, undefined, combineTelemetry(metrics.forSnapshot(ir), tracing.forSnapshot(ir)))
 */
import type { ContentCaptureIR, SnapshotIR, TracingIR } from '../../../compiler/ir.js'
import type { AttemptFailure, AttemptNext, AttemptObserver, CompiledCluster, CompiledEndpoint, CompiledListener, Filter, RequestContext } from '../../types.js'
import { compileAttemptObservers } from '../../upstream/attempt-events.js'
import type { SnapshotTelemetry } from '../snapshot-telemetry.js'
import { genAiOperation, genAiProviders, statusClass } from '../labels.js'
import { formatTraceparent, parseTraceparent } from './trace-context.js'
import { TRACE_STATE } from './trace-id.js'
import { attributeFragment, encodeTrace } from './otlp-proto.js'
import { AttemptSpan, randomHex, RequestTrace } from './span-record.js'
import { ContentFormatter } from './content-capture.js'
import { AnswerCapture } from './answer-capture.js'
import { createScrubber } from '../../upstream/scrub.js'
import type { SpanExporter } from './span-exporter.js'
import type { TracerHost } from './tracer-host.js'

/** Per-request state, on ctx.filterState (trace-id.ts reads it for the access log). */
const STATE = TRACE_STATE
/** The marker of a request that is not sampled: shared, never written. */
const NOT_SAMPLED = Object.freeze({ sampled: false })

/** `error.type` of a failed attempt: the status code, or how it broke (connect_failure, reset, timeout, overflow, client_abort). */
function errorType(f: AttemptFailure): string {
  return f.kind === 'status' ? String(f.status ?? 0) : f.kind
}


export class RequestTracing {
  constructor(private readonly host: TracerHost) {}

  forSnapshot(ir: SnapshotIR): SnapshotTelemetry | undefined {
    const cfg = ir.telemetry?.tracing
    if (cfg === undefined) {
      this.host.close()
      return undefined
    }
    // The content redactor is built once per snapshot, and only when some rule captures content;
    // the largest budget sizes the export ring (content makes spans larger).
    let contentBytes = 0
    for (const t of ir.routeTables) for (const r of t.rules) if (r.contentCapture !== undefined && r.contentCapture.maxBytes > contentBytes) contentBytes = r.contentCapture.maxBytes
    const formatter = contentBytes > 0 ? new ContentFormatter(createScrubber(ir.secrets ?? [], { credentialShapes: true }), ir.secrets ?? []) : undefined
    return this.hooks(cfg, this.host.tracerFor(cfg, contentBytes), genAiProviders(ir.clusters), formatter)
  }

  private hooks(cfg: TracingIR, queue: SpanExporter, providers: ReadonlyMap<string, string>, formatter: ContentFormatter | undefined): SnapshotTelemetry {
    const { sampleRatio: ratio, parentBased } = cfg
    // Config-only attributes, serialized once per snapshot (endpoints and listeners are snapshot objects).
    const endpoints = new Map<CompiledEndpoint, Buffer>()
    /** An endpoint's client-span attributes (provider, server.address / port, cluster, endpoint) as one OTLP byte fragment. */
    const endpointAttributes = (cluster: CompiledCluster, e: CompiledEndpoint): Buffer => {
      let a = endpoints.get(e)
      if (a === undefined) {
        let address = ''
        let port: number | undefined
        try {
          const u = new URL(e.origin)
          address = u.hostname
          port = u.port === '' ? (u.protocol === 'https:' ? 443 : u.protocol === 'http:' ? 80 : undefined) : Number(u.port)
        } catch {}
        a = attributeFragment([['gen_ai.provider.name', providers.get(cluster.name) ?? cluster.name], ['server.address', address], ...(port === undefined ? [] : [['server.port', port] as const]), ['switchyard.cluster', cluster.name], ['switchyard.endpoint', e.name]])
        endpoints.set(e, a)
      }
      return a
    }
    const listeners = new Map<CompiledListener, Buffer>()
    const listenerAttributes = (l: CompiledListener): Buffer => {
      let a = listeners.get(l)
      if (a === undefined) listeners.set(l, (a = attributeFragment([['server.port', l.port], ['switchyard.listener', l.name]])))
      return a
    }

    /**
     * The content capture of a sampled request, when its rule opts in: inference only (an
     * embeddings or other answer has no messages, and its body is not decoded for them).
     */
    const captureOf = (ctx: RequestContext, t: RequestTrace): ContentCaptureIR | undefined =>
      formatter === undefined || t.operation !== 'chat' ? undefined : ctx.route?.contentCapture

    // hot path: once per request (the first hook that sees it), sampled or not
    const traceOf = (ctx: RequestContext): RequestTrace | undefined => {
      const state = (ctx.filterState ??= {})
      const known = state[STATE] as RequestTrace | typeof NOT_SAMPLED | undefined
      if (known !== undefined) return known.sampled ? (known as RequestTrace) : undefined
      const header = ctx.head.headers.traceparent
      const parent = header === undefined ? undefined : parseTraceparent(header)
      const sampled = parent !== undefined && parentBased ? (parent.traceFlags & 1) === 1 : ratio >= 1 || (ratio > 0 && Math.random() < ratio)
      if (!sampled) {
        state[STATE] = NOT_SAMPLED
        return undefined
      }
      const head = ctx.head
      const t = new RequestTrace(parent?.traceId ?? randomHex(32), randomHex(16), parent?.spanId ?? '', ctx.startedAt, head.method, head.path, listenerAttributes(ctx.listener), ctx.requestId, genAiOperation(head.path))
      state[STATE] = t
      return t
    }

    const endAttempt = (ctx: RequestContext, t: RequestTrace, a: AttemptSpan): void => {
      t.current = undefined
      a.endedAt = performance.now()
      a.model = ctx.servedModel ?? ctx.head.model
      a.usage = ctx.usage
      const facts = ctx.answerFacts
      ctx.answerFacts = undefined
      a.answer = facts
      const status = ctx.status
      const ok = status >= 200 && status < 400
      a.outcome = ok ? 'success' : statusClass(status)
      if (status > 0) a.status = status
      if (!ok) a.errorType = status > 0 ? String(status) : 'client_abort'
    }

    const observer: AttemptObserver = {
      onAttemptStart(ctx: RequestContext, cluster: CompiledCluster, endpoint: CompiledEndpoint, attempt: number) {
        const t = traceOf(ctx)
        if (t === undefined) return
        if (t.current !== undefined) t.current.endedAt = performance.now()
        const reason = t.last?.nextStep !== undefined && t.last.nextStep !== 'none' && t.last.nextStep !== '' ? t.last.errorType : undefined
        const a = new AttemptSpan(randomHex(16), performance.now(), endpointAttributes(cluster, endpoint), attempt, reason)
        a.model = ctx.head.model
        t.addAttempt(a)
        ctx.headers.traceparent = formatTraceparent(t.traceId, a.spanId, 1)
        // The response strategies keep the answer's model and finish reasons here, for this span only
        // (and its content, on a rule that captures it).
        const capture = captureOf(ctx, t)
        ctx.answerFacts = { model: undefined, finishReasons: undefined, content: capture === undefined ? undefined : new AnswerCapture(formatter!.captureLimit(capture.maxBytes)) }
      },
      onResponseStart(ctx: RequestContext, status: number) {
        const t = ctx.filterState?.[STATE] as RequestTrace | undefined
        if (t?.current !== undefined) t.current.status = status
      },
      onResponseChunk(ctx: RequestContext) {
        const a = (ctx.filterState?.[STATE] as RequestTrace | undefined)?.current
        if (a !== undefined && a.firstChunkAt === 0) a.firstChunkAt = performance.now()
      },
      onAttemptEnd(ctx: RequestContext, usage) {
        const t = ctx.filterState?.[STATE] as RequestTrace | undefined
        const a = t?.current
        if (a === undefined) return
        endAttempt(ctx, t!, a)
        if (usage !== undefined) a.usage = usage
      },
      onAttemptFailed(ctx: RequestContext, failure: AttemptFailure, next: AttemptNext) {
        const t = ctx.filterState?.[STATE] as RequestTrace | undefined
        const a = t?.current
        if (a === undefined) return
        t!.current = undefined
        ctx.answerFacts = undefined
        a.endedAt = performance.now()
        a.errorType = errorType(failure)
        a.outcome = failure.kind === 'status' ? statusClass(failure.status ?? 0) : failure.kind
        a.nextStep = next
        if (failure.kind === 'status' && failure.status !== undefined) a.status = failure.status
      },
    }

    const filter: Filter = {
      name: 'tracing',
      onComplete(ctx: RequestContext) {
        const t = traceOf(ctx)
        if (t === undefined) return
        // In-process providers (mock) report an attempt's start only: the answer ends it here.
        if (t.current !== undefined) endAttempt(ctx, t, t.current)
        t.route = ctx.route?.name
        t.tenant = ctx.head.identity?.tenant
        t.requestModel = ctx.head.model
        t.status = ctx.status
        if (ctx.status >= 500) {
          t.errorType = String(ctx.status)
          t.error = true
        } else if (ctx.status === 0 || ctx.downstream.aborted) t.errorType = 'client_abort'
        t.spans = 1 + t.attempts
        // Content goes on the last attempt (the one that answered, or the last that tried); its
        // output only when that attempt ended with a whole answer.
        const capture = captureOf(ctx, t)
        if (capture !== undefined && t.last !== undefined) {
          try {
            t.last.content = formatter!.format(ctx, t.last.answer?.content as AnswerCapture | undefined, capture.maxBytes)
          } catch {
            // Never expected; a span without content is better than a request that notices.
          }
        }
        t.endedAt = performance.now()
        // Encoded now, into a reused buffer the ring copies from: nothing per trace is left for the GC.
        if (!queue.accepts(t.spans)) return
        let bytes: Uint8Array
        try {
          bytes = encodeTrace(t)
        } catch {
          // Never expected (every value is typed); counted as dropped rather than allowed near the request.
          queue.discard(t.spans)
          return
        }
        queue.add(bytes, t.spans)
      },
    }
    return { observers: compileAttemptObservers([observer]), filters: [filter] }
  }
}
