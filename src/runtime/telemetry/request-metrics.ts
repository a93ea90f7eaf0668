/**
 * A worker's request metrics: what every request and upstream attempt adds to the series that
 * GET /metrics and GET /experiments show. One instance per worker thread (the series outlive
 * snapshots); forSnapshot() makes the two hooks a snapshot installs — an AttemptObserver on every
 * route (attempt start, first chunk, end or failure) and a Filter whose onComplete runs once at
 * the end of every request (route matched or not) — so nothing else on the request path knows
 * about metrics. With metrics disabled forSnapshot() returns undefined and nothing is installed.
 *
 * Seams for later signals: cost (once prices exist) is one more family fed from `ctx.usage` in
 * complete(); tracing subscribes its own AttemptObserver beside this one.
 *
 * @example
 * const metrics = new RequestMetrics(() => gateway.inflight)
 * const snap = buildSnapshot(ir, stores, undefined, metrics.forSnapshot(ir))
 * port.postMessage(metrics.report())      // on the main thread's scrape
 */
import type { SnapshotIR } from '../../compiler/ir.js'
import type { AttemptFailure, AttemptNext, AttemptObserver, CompiledAttemptObservers, CompiledCluster, CompiledEndpoint, Filter, RequestContext } from '../types.js'
import { compileAttemptObservers } from '../upstream/attempt-events.js'
import { fnv1a } from '../routing/routes.js'
import { addHash, createRegisters } from '../../shared/hyperloglog.js'
import { CounterFamily, HistogramFamily, SEP, type MetricJSON } from './metric-store.js'
import { callerProtocol, configuredModels, genAiOperation, genAiProviders, isStreaming, statusClass } from './labels.js'

/** Seconds, for LLM latencies: 10 ms … 120 s. */
export const SECONDS_BUCKETS: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120]
/** Tokens per request: the buckets OpenTelemetry's GenAI conventions advise for gen_ai.client.token.usage. */
export const TOKEN_BUCKETS: readonly number[] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]

/** What a worker answers a scrape with: plain data for postMessage. */
export interface WorkerMetricsReport {
  readonly families: MetricJSON[]
  /** Distinct sticky keys per experiment variant (HyperLogLog registers). */
  readonly sketches: { readonly route: string; readonly variant: string; readonly registers: Uint8Array }[]
}

/** What a snapshot installs when metrics are on. */
export interface SnapshotTelemetry {
  readonly observers: CompiledAttemptObservers
  readonly filter: Filter
}

/** Per-request state, on ctx.filterState under a name no configured filter can have (names are identifiers). */
const STATE = '$metrics'

class RequestTrace {
  open = false
  attemptAt = 0
  firstChunkAt = 0
  /** First body bytes the client got from an attempt that broke and was continued. */
  clientFirstAt = 0
  cluster: CompiledCluster | undefined = undefined
  endpoint: CompiledEndpoint | undefined = undefined
}

function traceOf(ctx: RequestContext): RequestTrace {
  const state = (ctx.filterState ??= {})
  return ((state[STATE] as RequestTrace | undefined) ?? (state[STATE] = new RequestTrace())) as RequestTrace
}

function failureOutcome(f: AttemptFailure): string {
  return f.kind === 'status' ? statusClass(f.status ?? 0) : f.kind
}

export class RequestMetrics {
  readonly requests = new CounterFamily('switchyard_requests_total', 'Requests answered, by where they went and how they ended.', ['listener', 'route', 'cluster', 'endpoint', 'model', 'status_class', 'protocol', 'variant'])
  readonly duration = new HistogramFamily('switchyard_request_duration_seconds', 'Time from a request\'s arrival to the end of its answer (streams included).', ['listener', 'route', 'cluster', 'model', 'status_class', 'protocol', 'variant'], SECONDS_BUCKETS)
  readonly ttft = new HistogramFamily('gen_ai_server_time_to_first_token_seconds', 'Time from a streamed request\'s arrival to its first body bytes from the upstream (GenAI gen_ai.server.time_to_first_token).', ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'route', 'cluster', 'variant'], SECONDS_BUCKETS)
  readonly tokens = new HistogramFamily('gen_ai_client_token_usage', 'Tokens per request by type: input (cached included), output (reasoning included), cached_input, reasoning (GenAI gen_ai.client.token.usage).', ['gen_ai_token_type', 'gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'route', 'cluster', 'variant'], TOKEN_BUCKETS)
  readonly operation = new HistogramFamily('gen_ai_client_operation_duration_seconds', 'Duration of each upstream attempt, start to end or failure (GenAI gen_ai.client.operation.duration).', ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'cluster', 'endpoint', 'error_type'], SECONDS_BUCKETS)
  readonly attempts = new CounterFamily('switchyard_upstream_attempts_total', 'Upstream attempts by outcome (success, 4xx, 5xx, connect_failure, reset, timeout, overflow, client_abort) and what followed (none, retry, fallback, continue).', ['cluster', 'endpoint', 'outcome', 'next'])
  private readonly sketches = new Map<string, { route: string; variant: string; registers: Uint8Array }>()

  /** `inflight`: this worker's requests in flight (the Gateway counts them already). */
  constructor(private readonly inflight: () => number) {}

  forSnapshot(ir: SnapshotIR): SnapshotTelemetry | undefined {
    if (ir.telemetry?.metrics.enabled === false) return undefined
    const models = configuredModels(ir)
    const providers = genAiProviders(ir.clusters)
    const modelOf = (ctx: RequestContext): string => {
      const m = ctx.head.model
      return m === undefined ? '' : models.has(m) ? m : 'other'
    }
    const finishAttempt = (ctx: RequestContext, t: RequestTrace, outcome: string, next: AttemptNext): void => {
      t.open = false
      const cluster = t.cluster!.name
      const endpoint = t.endpoint!.name
      const key = cluster + SEP + endpoint + SEP + outcome + SEP + next
      ;(this.attempts.get(key) ?? this.attempts.add(key, [cluster, endpoint, outcome, next])).value++
      const op = genAiOperation(ctx.head.path)
      const provider = providers.get(cluster) ?? ''
      const model = modelOf(ctx)
      const error = outcome === 'success' ? '' : outcome
      const okey = op + SEP + provider + SEP + model + SEP + cluster + SEP + endpoint + SEP + error
      this.operation.observe(this.operation.get(okey) ?? this.operation.add(okey, [op, provider, model, cluster, endpoint, error]), (performance.now() - t.attemptAt) / 1000)
    }
    const observer: AttemptObserver = {
      onAttemptStart(ctx, cluster, endpoint) {
        const t = traceOf(ctx)
        t.open = true
        t.attemptAt = performance.now()
        t.firstChunkAt = 0
        t.cluster = cluster
        t.endpoint = endpoint
      },
      onResponseChunk(ctx) {
        const t = traceOf(ctx)
        if (t.firstChunkAt === 0) t.firstChunkAt = performance.now()
      },
      onAttemptEnd(ctx) {
        const t = traceOf(ctx)
        if (t.open) finishAttempt(ctx, t, ctx.status >= 200 && ctx.status < 400 ? 'success' : statusClass(ctx.status), 'none')
      },
      onAttemptFailed(ctx, failure, next) {
        const t = traceOf(ctx)
        if (next === 'continue' && t.clientFirstAt === 0) t.clientFirstAt = t.firstChunkAt
        if (t.open) finishAttempt(ctx, t, failureOutcome(failure), next)
      },
    }
    const filter: Filter = {
      name: 'metrics',
      onComplete: (ctx) => {
        const t = ctx.filterState?.[STATE] as RequestTrace | undefined
        // In-process providers (mock) report an attempt's start only: its answer ends it here.
        if (t !== undefined && t.open) finishAttempt(ctx, t, ctx.status >= 200 && ctx.status < 400 ? 'success' : statusClass(ctx.status), 'none')
        this.complete(ctx, t, modelOf(ctx), providers)
      },
    }
    return { observers: compileAttemptObservers([observer]), filter }
  }

  // hot path: once per request
  private complete(ctx: RequestContext, t: RequestTrace | undefined, model: string, providers: ReadonlyMap<string, string>): void {
    const now = performance.now()
    const listener = ctx.listener.name
    const route = ctx.route?.name ?? ''
    const cluster = ctx.endpoint !== undefined ? ctx.cluster!.name : ''
    const endpoint = ctx.endpoint?.name ?? ''
    const status = statusClass(ctx.status)
    const protocol = callerProtocol(ctx)
    const action = ctx.route?.action
    const variant = action?.kind === 'weighted' && ctx.cluster !== undefined ? ctx.cluster.name : ''
    const rkey = listener + SEP + route + SEP + cluster + SEP + endpoint + SEP + model + SEP + status + SEP + protocol + SEP + variant
    ;(this.requests.get(rkey) ?? this.requests.add(rkey, [listener, route, cluster, endpoint, model, status, protocol, variant])).value++
    const dkey = listener + SEP + route + SEP + cluster + SEP + model + SEP + status + SEP + protocol + SEP + variant
    this.duration.observe(this.duration.get(dkey) ?? this.duration.add(dkey, [listener, route, cluster, model, status, protocol, variant]), (now - ctx.startedAt) / 1000)
    if (cluster === '') return
    const op = genAiOperation(ctx.head.path)
    const provider = providers.get(cluster) ?? ''
    const gkey = op + SEP + provider + SEP + model + SEP + route + SEP + cluster + SEP + variant
    if (t !== undefined && ctx.status >= 200 && ctx.status < 300 && isStreaming(ctx)) {
      const first = t.clientFirstAt || t.firstChunkAt
      if (first > 0) this.ttft.observe(this.ttft.get(gkey) ?? this.ttft.add(gkey, [op, provider, model, route, cluster, variant]), (first - ctx.startedAt) / 1000)
    }
    const u = ctx.usage
    if (u !== undefined) {
      this.observeTokens('input', gkey, op, provider, model, route, cluster, variant, u.inputTokens)
      this.observeTokens('output', gkey, op, provider, model, route, cluster, variant, u.outputTokens)
      if (u.cachedInputTokens) this.observeTokens('cached_input', gkey, op, provider, model, route, cluster, variant, u.cachedInputTokens)
      if (u.reasoningTokens) this.observeTokens('reasoning', gkey, op, provider, model, route, cluster, variant, u.reasoningTokens)
    }
    if (variant !== '' && action?.kind === 'weighted') {
      const stickyKey = action.hashHeader !== undefined ? ctx.head.headers[action.hashHeader] : action.hashTenant ? ctx.head.identity?.tenant : undefined
      if (stickyKey !== undefined) addHash(this.sketchOf(route, variant).registers, fnv1a(stickyKey))
    }
  }

  private observeTokens(type: string, gkey: string, op: string, provider: string, model: string, route: string, cluster: string, variant: string, n: number): void {
    const key = type + SEP + gkey
    this.tokens.observe(this.tokens.get(key) ?? this.tokens.add(key, [type, op, provider, model, route, cluster, variant]), n)
  }

  private sketchOf(route: string, variant: string) {
    const key = route + SEP + variant
    let s = this.sketches.get(key)
    if (s === undefined) this.sketches.set(key, (s = { route, variant, registers: createRegisters() }))
    return s
  }

  /** Everything this worker recorded, for the main thread's scrape. */
  report(): WorkerMetricsReport {
    const inflight: MetricJSON = { name: 'switchyard_inflight_requests', help: 'Requests in flight (arrived, answer not yet ended), streams included.', type: 'gauge', values: [{ labels: {}, value: this.inflight() }], aggregator: 'sum' }
    return {
      families: [this.requests.toJSON(), this.duration.toJSON(), this.ttft.toJSON(), this.tokens.toJSON(), this.operation.toJSON(), this.attempts.toJSON(), inflight],
      sketches: [...this.sketches.values()].map((s) => ({ ...s, registers: s.registers.slice() })),
    }
  }
}
