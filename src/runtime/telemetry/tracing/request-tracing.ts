/**
 * A worker's request tracing: a SERVER span per request and a CLIENT span per upstream attempt,
 * named and attributed after OpenTelemetry's HTTP and GenAI semantic conventions, made by an
 * AttemptObserver and an onComplete filter exactly like the metrics (nothing else on the request
 * path knows about tracing). No request or response body text is ever recorded.
 *
 * Cost: forSnapshot() returns undefined without `telemetry.tracing`, and nothing is installed. With
 * it, the sampling decision (parent-based ratio, decided here rather than by the SDK's sampler) is
 * made once per request before any span object exists, so a request that is not sampled costs a
 * header read, a comparison and a marker on ctx.filterState. Every time given to the SDK is a
 * performance.now() reading turned into epoch milliseconds with one offset (epochMs), so spans share
 * one clock and an attempt always lies inside its request (the SDK corrects performance readings with
 * an offset of its own per span, which can differ by a millisecond between spans). Spans are created lazily: the server
 * span when the first attempt starts (its start time is the request's arrival) or, for requests
 * answered locally, when the request completes.
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
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api'
import type { SnapshotIR, TracingIR } from '../../../compiler/ir.js'
import type { AnswerFacts, AttemptFailure, AttemptNext, AttemptObserver, CompiledCluster, CompiledEndpoint, Filter, RequestContext, Usage } from '../../types.js'
import { compileAttemptObservers } from '../../upstream/attempt-events.js'
import type { SnapshotTelemetry } from '../snapshot-telemetry.js'
import { genAiOperation, genAiProviders, statusClass } from '../labels.js'
import { formatTraceparent, parseTraceparent } from './trace-context.js'
import type { TracerHost } from './tracer-host.js'

/** A performance.now() reading (ctx.startedAt is one) as epoch milliseconds, the same offset for every span. */
function epochMs(perf: number): number {
  return performance.timeOrigin + perf
}

/** Per-request state, on ctx.filterState (filter names are identifiers, so no filter can have this one). */
const STATE = '$trace'
/** The marker of a request that is not sampled: shared, never written. */
const NOT_SAMPLED = Object.freeze({ sampled: false })

class RequestSpans {
  readonly sampled = true
  attempt: Span | undefined = undefined
  attempts = 0
  firstChunkSeen = false
  /** Why the previous attempt failed, when another followed (the reason for the retry or fallback). */
  reason: string | undefined = undefined
  /** What the answering attempt's answer said about itself (for the server span). */
  answer: AnswerFacts | undefined = undefined
  constructor(readonly server: Span, readonly context: Context) {}
}

/** `error.type` of a failed attempt: the status code, or how it broke (connect_failure, reset, timeout, overflow, client_abort). */
function errorType(f: AttemptFailure): string {
  return f.kind === 'status' ? String(f.status ?? 0) : f.kind
}

/** `gen_ai.response.model` and `gen_ai.response.finish_reasons`, from what the answer said (AnswerFacts). */
function addAnswer(span: Span, facts: AnswerFacts | undefined): void {
  if (facts === undefined) return
  if (facts.model !== undefined) span.setAttribute('gen_ai.response.model', facts.model)
  const reasons = facts.finishReasons
  if (reasons !== undefined) span.setAttribute('gen_ai.response.finish_reasons', reasons.filter((r) => r !== undefined))
}

function addUsage(span: Span, u: Usage | undefined): void {
  if (u === undefined) return
  span.setAttribute('gen_ai.usage.input_tokens', u.inputTokens)
  span.setAttribute('gen_ai.usage.output_tokens', u.outputTokens)
  if (u.cachedInputTokens) span.setAttribute('gen_ai.usage.cache_read.input_tokens', u.cachedInputTokens)
  if (u.reasoningTokens) span.setAttribute('gen_ai.usage.reasoning.output_tokens', u.reasoningTokens)
}

interface EndpointTarget {
  readonly address: string
  readonly port: number | undefined
}

export class RequestTracing {
  constructor(private readonly host: TracerHost) {}

  forSnapshot(ir: SnapshotIR): SnapshotTelemetry | undefined {
    const cfg = ir.telemetry?.tracing
    if (cfg === undefined) {
      this.host.close()
      return undefined
    }
    return this.hooks(cfg, this.host.tracerFor(cfg), genAiProviders(ir.clusters))
  }

  private hooks(cfg: TracingIR, tracer: Tracer, providers: ReadonlyMap<string, string>): SnapshotTelemetry {
    const { sampleRatio: ratio, parentBased } = cfg
    const targets = new Map<CompiledEndpoint, EndpointTarget>()
    const targetOf = (e: CompiledEndpoint): EndpointTarget => {
      let t = targets.get(e)
      if (t === undefined) {
        let address = ''
        let port: number | undefined
        try {
          const u = new URL(e.origin)
          address = u.hostname
          port = u.port === '' ? (u.protocol === 'https:' ? 443 : u.protocol === 'http:' ? 80 : undefined) : Number(u.port)
        } catch {}
        targets.set(e, (t = { address, port }))
      }
      return t
    }

    // hot path: once per request (the first hook that sees it), sampled or not
    const spansOf = (ctx: RequestContext): RequestSpans | undefined => {
      const state = (ctx.filterState ??= {})
      const known = state[STATE] as RequestSpans | typeof NOT_SAMPLED | undefined
      if (known !== undefined) return known.sampled ? (known as RequestSpans) : undefined
      const header = ctx.head.headers.traceparent
      const parent = header === undefined ? undefined : parseTraceparent(header)
      const sampled = parent !== undefined && parentBased ? (parent.traceFlags & 1) === 1 : ratio >= 1 || (ratio > 0 && Math.random() < ratio)
      if (!sampled) {
        state[STATE] = NOT_SAMPLED
        return undefined
      }
      const parentContext = parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, { ...parent, isRemote: true })
      const route = ctx.route?.name
      const attributes: Attributes = {
        'http.request.method': ctx.head.method,
        'url.path': ctx.head.path,
        'server.port': ctx.listener.port,
        'switchyard.listener': ctx.listener.name,
        'switchyard.request_id': ctx.requestId,
      }
      if (route !== undefined) attributes['switchyard.route'] = route
      const server = tracer.startSpan(route === undefined ? ctx.head.method : `${ctx.head.method} ${route}`, { kind: SpanKind.SERVER, startTime: epochMs(ctx.startedAt), attributes }, parentContext)
      const spans = new RequestSpans(server, trace.setSpan(parentContext, server))
      state[STATE] = spans
      return spans
    }

    const endAttempt = (ctx: RequestContext, s: RequestSpans, usage: Usage | undefined): void => {
      const span = s.attempt!
      s.attempt = undefined
      const model = ctx.servedModel ?? ctx.head.model
      if (model !== undefined) {
        span.setAttribute('gen_ai.request.model', model)
        span.updateName(`${genAiOperation(ctx.head.path)} ${model}`)
      }
      addUsage(span, usage)
      const facts = ctx.answerFacts
      ctx.answerFacts = undefined
      addAnswer(span, facts)
      s.answer = facts
      const ok = ctx.status >= 200 && ctx.status < 400
      span.setAttribute('switchyard.attempt.outcome', ok ? 'success' : statusClass(ctx.status))
      if (ctx.status > 0) span.setAttribute('http.response.status_code', ctx.status)
      if (!ok) {
        span.setAttribute('error.type', ctx.status > 0 ? String(ctx.status) : 'client_abort')
        span.setStatus({ code: SpanStatusCode.ERROR })
      }
      span.end(epochMs(performance.now()))
    }

    const observer: AttemptObserver = {
      onAttemptStart(ctx: RequestContext, cluster: CompiledCluster, endpoint: CompiledEndpoint, attempt: number) {
        const s = spansOf(ctx)
        if (s === undefined) return
        if (s.attempt !== undefined) s.attempt.end(epochMs(performance.now()))
        const op = genAiOperation(ctx.head.path)
        const model = ctx.head.model
        const target = targetOf(endpoint)
        const attributes: Attributes = {
          'gen_ai.operation.name': op,
          'gen_ai.provider.name': providers.get(cluster.name) ?? cluster.name,
          'server.address': target.address,
          'switchyard.cluster': cluster.name,
          'switchyard.endpoint': endpoint.name,
          'switchyard.attempt': attempt,
        }
        if (target.port !== undefined) attributes['server.port'] = target.port
        if (model !== undefined) attributes['gen_ai.request.model'] = model
        if (s.reason !== undefined) attributes['switchyard.attempt.reason'] = s.reason
        const span = tracer.startSpan(model === undefined ? op : `${op} ${model}`, { kind: SpanKind.CLIENT, startTime: epochMs(performance.now()), attributes }, s.context)
        s.attempt = span
        s.attempts++
        s.firstChunkSeen = false
        // The response strategies keep the answer's model and finish reasons here, for this span only.
        ctx.answerFacts = { model: undefined, finishReasons: undefined }
        const sc = span.spanContext()
        ctx.headers.traceparent = formatTraceparent(sc.traceId, sc.spanId, sc.traceFlags)
      },
      onResponseStart(ctx: RequestContext, status: number) {
        const s = ctx.filterState?.[STATE] as RequestSpans | undefined
        if (s?.attempt !== undefined) s.attempt.setAttribute('http.response.status_code', status)
      },
      onResponseChunk(ctx: RequestContext) {
        const s = ctx.filterState?.[STATE] as RequestSpans | undefined
        if (s === undefined || s.firstChunkSeen || s.attempt === undefined) return
        s.firstChunkSeen = true
        const now = performance.now()
        s.attempt.addEvent('gen_ai.first_token', { 'gen_ai.server.time_to_first_token': (now - ctx.startedAt) / 1000 }, epochMs(now))
      },
      onAttemptEnd(ctx: RequestContext, usage: Usage | undefined) {
        const s = ctx.filterState?.[STATE] as RequestSpans | undefined
        if (s?.attempt !== undefined) endAttempt(ctx, s, usage ?? ctx.usage)
      },
      onAttemptFailed(ctx: RequestContext, failure: AttemptFailure, next: AttemptNext) {
        const s = ctx.filterState?.[STATE] as RequestSpans | undefined
        if (s?.attempt === undefined) return
        const span = s.attempt
        s.attempt = undefined
        ctx.answerFacts = undefined
        const type = errorType(failure)
        span.setAttribute('error.type', type)
        span.setAttribute('switchyard.attempt.outcome', failure.kind === 'status' ? statusClass(failure.status ?? 0) : failure.kind)
        span.setAttribute('switchyard.attempt.next', next)
        if (failure.kind === 'status' && failure.status !== undefined) span.setAttribute('http.response.status_code', failure.status)
        span.setStatus({ code: SpanStatusCode.ERROR, message: type })
        span.end(epochMs(performance.now()))
        s.reason = next === 'none' ? undefined : type
      },
    }

    const filter: Filter = {
      name: 'tracing',
      onComplete(ctx: RequestContext) {
        const s = spansOf(ctx)
        if (s === undefined) return
        // In-process providers (mock) report an attempt's start only: the answer ends it here.
        if (s.attempt !== undefined) endAttempt(ctx, s, ctx.usage)
        const server = s.server
        if (ctx.route !== undefined) server.setAttribute('switchyard.route', ctx.route.name)
        const tenant = ctx.head.identity?.tenant
        if (tenant !== undefined) server.setAttribute('switchyard.tenant', tenant)
        if (ctx.head.model !== undefined) server.setAttribute('gen_ai.request.model', ctx.head.model)
        if (ctx.endpoint !== undefined) {
          server.setAttribute('switchyard.cluster', ctx.cluster!.name)
          server.setAttribute('switchyard.endpoint', ctx.endpoint.name)
        }
        server.setAttribute('switchyard.attempts', s.attempts)
        addUsage(server, ctx.usage)
        addAnswer(server, s.answer)
        if (ctx.status > 0) server.setAttribute('http.response.status_code', ctx.status)
        if (ctx.status >= 500) {
          server.setAttribute('error.type', String(ctx.status))
          server.setStatus({ code: SpanStatusCode.ERROR })
        } else if (ctx.status === 0 || ctx.downstream.aborted) {
          server.setAttribute('error.type', 'client_abort')
        }
        server.end(epochMs(performance.now()))
      },
    }
    return { observers: compileAttemptObservers([observer]), filters: [filter] }
  }
}

/** The trace id of a sampled request (for the access log); undefined when not traced. */
export function traceIdOf(ctx: RequestContext): string | undefined {
  const s = ctx.filterState?.[STATE] as RequestSpans | undefined
  return s?.sampled ? s.server.spanContext().traceId : undefined
}
