/**
 * A worker's request metrics: what every request and upstream attempt adds to the series that
 * GET /metrics and GET /experiments show. One instance per worker thread (the series outlive
 * snapshots); forSnapshot() makes the two hooks a snapshot installs — an AttemptObserver on every
 * route (attempt start, first chunk, end or failure) and a Filter whose onComplete runs once at
 * the end of every request (route matched or not) — so nothing else on the request path knows
 * about metrics. With metrics disabled forSnapshot() returns undefined and nothing is installed.
 *
 * Recording resolves series by object identity, never by building label strings: the route (or,
 * unmatched, the listener) and the endpoint a request reached find their cells in per-snapshot
 * tables (series-cells.ts), and the few request-time dimensions (model, operation, status class,
 * protocol, outcome) are small integers indexing arrays there. A cell is made the first time its
 * combination occurs, through the worker's string-keyed families, so label values are joined
 * once per series, not once per request.
 *
 * Seams for later signals: cost (once prices exist) is one more family fed from `ctx.usage` in
 * complete(); tracing subscribes its own AttemptObserver beside this one.
 *
 * @example
 * const metrics = new RequestMetrics(() => gateway.inflight)
 * const snap = buildSnapshot(ir, stores, undefined, metrics.forSnapshot(ir))
 * port.postMessage(metrics.report())      // on the main thread's scrape
 */
import { pluginErrorFamily } from '../plugins/js/plugin-errors.js'
import type { SnapshotIR } from '../../compiler/ir.js'
import type { AttemptFailure, AttemptNext, AttemptObserver, Filter, RequestContext } from '../types.js'
import { compileAttemptObservers } from '../upstream/attempt-events.js'
import { fnv1a } from '../../shared/string-hash.js'
import { addHash } from '../../shared/hyperloglog.js'
import { logSettings } from '../../shared/log.js'
import { CounterFamily, HistogramFamily, type MetricJSON } from './metric-store.js'
import { isStreaming } from './labels.js'
import { SeriesCells, nextIndex, outcomeOfStatus, OUTCOME_BY_KIND, type EndpointCells, type Families } from './series-cells.js'

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

export type { SnapshotTelemetry } from './snapshot-telemetry.js'
import type { SnapshotTelemetry } from './snapshot-telemetry.js'

/** Per-request state, on ctx.filterState under a name no configured filter can have (names are identifiers). */
const STATE = '$metrics'

class RequestTrace {
  open = false
  attemptAt = 0
  firstChunkAt = 0
  /** First body bytes the client got from an attempt that broke and was continued. */
  clientFirstAt = 0
  endpoint: EndpointCells | undefined = undefined
}

function traceOf(ctx: RequestContext): RequestTrace {
  const state = (ctx.filterState ??= {})
  return ((state[STATE] as RequestTrace | undefined) ?? (state[STATE] = new RequestTrace())) as RequestTrace
}

function failureOutcome(f: AttemptFailure): number {
  return f.kind === 'status' ? outcomeOfStatus(f.status ?? 0) : OUTCOME_BY_KIND[f.kind]
}

export class RequestMetrics implements Families {
  readonly requests = new CounterFamily('switchyard_requests_total', 'Requests answered, by where they went and how they ended.', ['listener', 'route', 'cluster', 'endpoint', 'model', 'status_class', 'protocol', 'variant'])
  readonly duration = new HistogramFamily('switchyard_request_duration_seconds', 'Time from a request\'s arrival to the end of its answer (streams included).', ['listener', 'route', 'cluster', 'model', 'status_class', 'protocol', 'variant'], SECONDS_BUCKETS)
  readonly ttft = new HistogramFamily('gen_ai_server_time_to_first_token_seconds', 'Time from a streamed request\'s arrival to its first body bytes from the upstream (GenAI gen_ai.server.time_to_first_token).', ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'route', 'cluster', 'variant'], SECONDS_BUCKETS)
  readonly tokens = new HistogramFamily('gen_ai_client_token_usage', 'Tokens per request by type: input (cached included), output (reasoning included), cached_input, reasoning (GenAI gen_ai.client.token.usage).', ['gen_ai_token_type', 'gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'route', 'cluster', 'variant'], TOKEN_BUCKETS)
  readonly operation = new HistogramFamily('gen_ai_client_operation_duration_seconds', 'Duration of each upstream attempt, start to end or failure (GenAI gen_ai.client.operation.duration).', ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'cluster', 'endpoint', 'error_type'], SECONDS_BUCKETS)
  readonly attempts = new CounterFamily('switchyard_upstream_attempts_total', 'Upstream attempts by outcome (success, 4xx, 5xx, connect_failure, reset, timeout, overflow, client_abort) and what followed (none, retry, fallback, continue).', ['cluster', 'endpoint', 'outcome', 'next'])
  readonly sketches = new Map<string, { route: string; variant: string; registers: Uint8Array }>()

  /** `inflight`: this worker's requests in flight (the Gateway counts them already). */
  constructor(private readonly inflight: () => number) {}

  forSnapshot(ir: SnapshotIR): SnapshotTelemetry | undefined {
    if (ir.telemetry?.metrics.enabled === false) return undefined
    const cells = new SeriesCells(ir, this)
    const finishAttempt = (ctx: RequestContext, t: RequestTrace, outcome: number, next: number): void => {
      t.open = false
      const cell = cells.attemptCell(t.endpoint!, ctx, outcome, next)
      cell.attempts.value++
      this.operation.observe(cell.operation, (performance.now() - t.attemptAt) / 1000)
    }
    const observer: AttemptObserver = {
      onAttemptStart(ctx, cluster, endpoint) {
        const t = traceOf(ctx)
        t.open = true
        t.attemptAt = performance.now()
        t.firstChunkAt = 0
        t.endpoint = cells.endpoint(cluster, endpoint)
      },
      onResponseChunk(ctx) {
        const t = traceOf(ctx)
        if (t.firstChunkAt === 0) t.firstChunkAt = performance.now()
      },
      onAttemptEnd(ctx) {
        const t = traceOf(ctx)
        if (t.open) finishAttempt(ctx, t, outcomeOfStatus(ctx.status), 0)
      },
      onAttemptFailed(ctx, failure, next: AttemptNext) {
        const t = traceOf(ctx)
        if (next === 'continue' && t.clientFirstAt === 0) t.clientFirstAt = t.firstChunkAt
        if (t.open) finishAttempt(ctx, t, failureOutcome(failure), nextIndex(next))
      },
    }
    const filter: Filter = {
      name: 'metrics',
      onComplete: (ctx) => {
        const t = ctx.filterState?.[STATE] as RequestTrace | undefined
        // In-process providers (mock) report an attempt's start only: its answer ends it here.
        if (t !== undefined && t.open) finishAttempt(ctx, t, outcomeOfStatus(ctx.status), 0)
        this.complete(ctx, t, cells)
      },
    }
    return { observers: compileAttemptObservers([observer]), filters: [filter] }
  }

  // hot path: once per request
  private complete(ctx: RequestContext, t: RequestTrace | undefined, cells: SeriesCells): void {
    const cell = cells.completionCell(ctx)
    cell.requests.value++
    this.duration.observe(cell.duration, (performance.now() - ctx.startedAt) / 1000)
    const gen = cell.genAi
    if (gen === undefined) return
    if (t !== undefined && ctx.status >= 200 && ctx.status < 300 && isStreaming(ctx)) {
      const first = t.clientFirstAt || t.firstChunkAt
      if (first > 0) this.ttft.observe(gen.ttft(), (first - ctx.startedAt) / 1000)
    }
    const u = ctx.usage
    if (u !== undefined) {
      this.tokens.observe(gen.tokens(0), u.inputTokens)
      this.tokens.observe(gen.tokens(1), u.outputTokens)
      if (u.cachedInputTokens) this.tokens.observe(gen.tokens(2), u.cachedInputTokens)
      if (u.reasoningTokens) this.tokens.observe(gen.tokens(3), u.reasoningTokens)
    }
    const sticky = cell.sticky
    if (sticky !== undefined) {
      const action = ctx.route!.action
      if (action.kind !== 'weighted') return
      const stickyKey = action.hashHeader !== undefined ? ctx.head.headers[action.hashHeader] : action.hashTenant ? ctx.head.identity?.tenant : undefined
      if (stickyKey !== undefined) addHash(sticky.get(), fnv1a(stickyKey))
    }
  }

  /** Everything this worker recorded, for the main thread's scrape. */
  report(): WorkerMetricsReport {
    const inflight: MetricJSON = { name: 'switchyard_inflight_requests', help: 'Requests in flight (arrived, answer not yet ended), streams included.', type: 'gauge', values: [{ labels: {}, value: this.inflight() }], aggregator: 'sum' }
    return {
      families: [this.requests.toJSON(), this.duration.toJSON(), this.ttft.toJSON(), this.tokens.toJSON(), this.operation.toJSON(), this.attempts.toJSON(), inflight, logLinesDropped('worker'), pluginErrorFamily()],
      sketches: [...this.sketches.values()].map((s) => ({ ...s, registers: s.registers.slice() })),
    }
  }
}

/**
 * Log lines this thread dropped because stderr did not keep up (its buffer was full, or a
 * synchronous error line met a full pipe): summed over the workers (`thread="worker"`); the main
 * thread reports its own (`thread="main"`, control/metrics/control-families.ts).
 */
export function logLinesDropped(thread: 'main' | 'worker'): MetricJSON {
  return {
    name: 'switchyard_log_lines_dropped_total', help: 'Log lines dropped because the log destination (stderr) did not keep up; requests never wait for it.',
    type: 'counter', aggregator: 'sum', values: [{ labels: { thread }, value: logSettings().dropped }],
  }
}
