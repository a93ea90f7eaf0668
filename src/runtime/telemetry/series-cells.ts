/**
 * Where a request's metric series are found without building a label string: per snapshot, a
 * table per route (or listener, for unmatched requests) and per endpoint, found by object identity,
 * each holding arrays indexed by the request-time dimensions as small integers (model, operation,
 * status class, caller protocol; outcome and what followed for attempts). A cell holds direct
 * references to the worker's series, so recording is an array index and an add.
 *
 * Cells are made lazily, the first time a combination occurs: that is the only place label values
 * are joined into a key, through the worker's families (metric-store.ts), which is also what makes
 * two snapshots (or two compiled objects with the same names, such as a rule's connect_timeout
 * cluster variant) share one series. Tables live as long as their snapshot.
 */
import type { SnapshotIR } from '../../compiler/ir.js'
import type { AttemptFailure, AttemptNext, CompiledCluster, CompiledEndpoint, CompiledListener, CompiledRoute, RequestContext } from '../types.js'
import type { CounterFamily, CounterSeries, HistogramFamily, HistogramSeries } from './metric-store.js'
import { operationOf } from '../providers/caller.js'
import { createRegisters } from '../../shared/hyperloglog.js'
import { configuredModels, genAiProviders } from './labels.js'
import { SEP } from './metric-store.js'

/** The worker-lifetime families the cells point into (RequestMetrics). */
export interface Families {
  readonly requests: CounterFamily
  readonly duration: HistogramFamily
  readonly ttft: HistogramFamily
  readonly tokens: HistogramFamily
  readonly operation: HistogramFamily
  readonly attempts: CounterFamily
  readonly sketches: Map<string, { route: string; variant: string; registers: Uint8Array }>
}

// The request-time dimensions, as small integers and the label values they stand for.

const OPERATIONS = ['chat', 'embeddings', 'other'] as const
/** `gen_ai.operation.name`: the Chat Completions, Messages and Responses APIs are all `chat`. */
function operationIndex(path: string): number {
  switch (operationOf(path)) {
    case 'chat':
    case 'messages':
    case 'responses':
      return 0
    case 'embeddings':
      return 1
    default:
      return 2
  }
}

/** Status classes; `aborted` when the client left before any status was sent. */
const STATUS_CLASSES = ['aborted', '1xx', '2xx', '3xx', '4xx', '5xx', 'other'] as const
function statusIndex(status: number): number {
  if (status === 0) return 0
  const c = (status / 100) | 0
  return c >= 1 && c <= 5 ? c : 6
}

/** The API the caller spoke: the listener's protocol, or the Responses API. */
const PROTOCOLS = ['openai', 'anthropic', 'responses'] as const
function protocolIndex(ctx: RequestContext): number {
  return ctx.head.path.startsWith('/v1/responses') ? 2 : ctx.protocol === 'anthropic' ? 1 : 0
}

/** An attempt's outcome: success, the status class it failed with, or how it broke. */
const OUTCOMES = ['success', ...STATUS_CLASSES, 'connect_failure', 'reset', 'timeout', 'overflow', 'client_abort'] as const
export const OUTCOME_BY_KIND: Readonly<Record<Exclude<AttemptFailure['kind'], 'status'>, number>> = { connect_failure: 8, reset: 9, timeout: 10, overflow: 11, client_abort: 12 }
/** An attempt that ended with this status: success below 400, else its class. */
export function outcomeOfStatus(status: number): number {
  return status >= 200 && status < 400 ? 0 : 1 + statusIndex(status)
}

const NEXTS: readonly AttemptNext[] = ['none', 'retry', 'fallback', 'continue']
export function nextIndex(next: AttemptNext): number {
  return next === 'none' ? 0 : next === 'retry' ? 1 : next === 'fallback' ? 2 : 3
}

const TOKEN_TYPES = ['input', 'output', 'cached_input', 'reasoning'] as const

const COMPLETION_CELLS = OPERATIONS.length * STATUS_CLASSES.length * PROTOCOLS.length
const ATTEMPT_CELLS = OPERATIONS.length * OUTCOMES.length * NEXTS.length

/** The GenAI series of one (operation, provider, model, route, cluster, variant): TTFT and tokens, made on first use. */
export class GenAiCell {
  private ttftSeries: HistogramSeries | undefined
  private readonly tokenSeries: (HistogramSeries | undefined)[] = [undefined, undefined, undefined, undefined]

  constructor(private readonly families: Families, private readonly labels: readonly string[]) {}

  ttft(): HistogramSeries {
    return (this.ttftSeries ??= histogram(this.families.ttft, this.labels))
  }

  /** `type`: index into input, output, cached_input, reasoning. */
  tokens(type: number): HistogramSeries {
    return (this.tokenSeries[type] ??= histogram(this.families.tokens, [TOKEN_TYPES[type], ...this.labels]))
  }
}

export interface CompletionCell {
  readonly requests: CounterSeries
  readonly duration: HistogramSeries
  /** Undefined when no endpoint was reached (no GenAI series then). */
  readonly genAi: GenAiCell | undefined
  /** The variant's distinct-key sketch, for sticky weighted splits; undefined otherwise. */
  readonly sticky: StickySketch | undefined
}

/** Made on the first sticky key, so a variant that saw none shows no sketch. */
export class StickySketch {
  private registers: Uint8Array | undefined
  constructor(private readonly families: Families, private readonly route: string, private readonly variant: string) {}
  get(): Uint8Array {
    if (this.registers !== undefined) return this.registers
    const key = this.route + SEP + this.variant
    let s = this.families.sketches.get(key)
    if (s === undefined) this.families.sketches.set(key, (s = { route: this.route, variant: this.variant, registers: createRegisters() }))
    return (this.registers = s.registers)
  }
}

export interface AttemptCell {
  readonly attempts: CounterSeries
  readonly operation: HistogramSeries
}

/** One endpoint's attempt cells: by model, then (operation, outcome, next). */
export interface EndpointCells {
  readonly cluster: string
  readonly endpoint: string
  readonly provider: string
  readonly byModel: (AttemptCell[] | undefined)[]
}

/** The completion cells of one route and one (cluster, endpoint) it reached: by model, then (operation, status, protocol). */
interface TargetCells {
  readonly cluster: CompiledCluster | undefined
  readonly endpoint: CompiledEndpoint | undefined
  readonly byModel: (CompletionCell[] | undefined)[]
}

/** A route's (or an unmatched listener's) targets, scanned by identity: a route reaches a handful. */
interface RouteCells {
  readonly listener: string
  readonly route: CompiledRoute | undefined
  readonly targets: TargetCells[]
}

function counter(f: CounterFamily, labels: readonly string[]): CounterSeries {
  const key = labels.join(SEP)
  return f.get(key) ?? f.add(key, labels)
}

function histogram(f: HistogramFamily, labels: readonly string[]): HistogramSeries {
  const key = labels.join(SEP)
  return f.get(key) ?? f.add(key, labels)
}

export class SeriesCells {
  /** Model label values: 0 none, 1 `other`, then every model the config names. */
  private readonly modelIndex = new Map<string, number>()
  private readonly modelNames: string[] = ['', 'other']
  private readonly providers: ReadonlyMap<string, string>
  private readonly routes = new Map<CompiledRoute | CompiledListener, RouteCells>()
  private readonly endpoints = new Map<CompiledEndpoint, EndpointCells>()

  constructor(ir: SnapshotIR, private readonly families: Families) {
    for (const m of configuredModels(ir)) {
      this.modelIndex.set(m, this.modelNames.length)
      this.modelNames.push(m)
    }
    this.providers = genAiProviders(ir.clusters)
  }

  /** The requested model's label index: unknown names fold into `other` (bounded cardinality). */
  private model(ctx: RequestContext): number {
    const m = ctx.head.model
    return m === undefined ? 0 : (this.modelIndex.get(m) ?? 1)
  }

  // hot path: once per attempt
  endpoint(c: CompiledCluster, e: CompiledEndpoint): EndpointCells {
    let cells = this.endpoints.get(e)
    if (cells === undefined) this.endpoints.set(e, (cells = { cluster: c.name, endpoint: e.name, provider: this.providers.get(c.name) ?? '', byModel: [] }))
    return cells
  }

  // hot path: once per finished attempt
  attemptCell(e: EndpointCells, ctx: RequestContext, outcome: number, next: number): AttemptCell {
    const model = this.model(ctx)
    const cells = (e.byModel[model] ??= new Array<AttemptCell>(ATTEMPT_CELLS))
    const op = operationIndex(ctx.head.path)
    const i = (op * OUTCOMES.length + outcome) * NEXTS.length + next
    return cells[i] ?? (cells[i] = this.makeAttemptCell(e, model, op, outcome, next))
  }

  private makeAttemptCell(e: EndpointCells, model: number, op: number, outcome: number, next: number): AttemptCell {
    const outcomeName = OUTCOMES[outcome]
    return {
      attempts: counter(this.families.attempts, [e.cluster, e.endpoint, outcomeName, NEXTS[next]]),
      operation: histogram(this.families.operation, [OPERATIONS[op], e.provider, this.modelNames[model], e.cluster, e.endpoint, outcome === 0 ? '' : outcomeName]),
    }
  }

  // hot path: once per request
  completionCell(ctx: RequestContext): CompletionCell {
    const route = ctx.route
    const owner = route ?? ctx.listener
    let r = this.routes.get(owner)
    if (r === undefined) this.routes.set(owner, (r = { listener: ctx.listener.name, route, targets: [] }))
    const targets = r.targets
    const cluster = ctx.cluster
    const endpoint = ctx.endpoint
    let target: TargetCells | undefined
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]
      if (t.endpoint === endpoint && t.cluster === cluster) {
        target = t
        break
      }
    }
    if (target === undefined) targets.push((target = { cluster, endpoint, byModel: [] }))
    const model = this.model(ctx)
    const cells = (target.byModel[model] ??= new Array<CompletionCell>(COMPLETION_CELLS))
    const op = operationIndex(ctx.head.path)
    const status = statusIndex(ctx.status)
    const protocol = protocolIndex(ctx)
    const i = (op * STATUS_CLASSES.length + status) * PROTOCOLS.length + protocol
    return cells[i] ?? (cells[i] = this.makeCompletionCell(r, target, model, op, status, protocol))
  }

  private makeCompletionCell(r: RouteCells, target: TargetCells, model: number, op: number, status: number, protocol: number): CompletionCell {
    const route = r.route?.name ?? ''
    const action = r.route?.action
    const cluster = target.endpoint !== undefined ? target.cluster!.name : ''
    const endpoint = target.endpoint?.name ?? ''
    const modelName = this.modelNames[model]
    const statusName = STATUS_CLASSES[status]
    const protocolName = PROTOCOLS[protocol]
    const variant = action?.kind === 'weighted' && target.cluster !== undefined ? target.cluster.name : ''
    const sticky = variant !== '' && action?.kind === 'weighted' && (action.hashHeader !== undefined || action.hashTenant === true)
    return {
      requests: counter(this.families.requests, [r.listener, route, cluster, endpoint, modelName, statusName, protocolName, variant]),
      duration: histogram(this.families.duration, [r.listener, route, cluster, modelName, statusName, protocolName, variant]),
      genAi: cluster === '' ? undefined : new GenAiCell(this.families, [OPERATIONS[op], this.providers.get(cluster) ?? '', modelName, route, cluster, variant]),
      sticky: sticky ? new StickySketch(this.families, route, variant) : undefined,
    }
  }
}
