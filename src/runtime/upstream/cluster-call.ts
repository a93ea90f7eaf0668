/**
 * A request the gateway makes to a cluster on its own behalf (a filter's side call, such as the
 * semantic cache's embeddings), through the same machinery as a routed request: the cluster's
 * balancer and endpoint guard, its limits, its model_map, its provider adapter (credentials,
 * target, translation, signing), endpoint stats and outlier verdicts. Only the caller differs: the
 * answer is collected in memory instead of going to a client, and no filter chain runs on it.
 *
 * `timeoutMs` bounds the whole exchange; when it runs out the upstream call is aborted as if a
 * client had gone away (tokens cost money) and the result is `{ ok: false, reason: 'timeout' }`.
 * The promise never rejects.
 *
 * @example
 * const r = await callCluster(ctx.snapshot, cluster, { path: '/v1/embeddings', json: { model, input }, timeoutMs: 500, requestId: ctx.requestId })
 * if (r.ok && r.status === 200) use(JSON.parse(r.body.toString()))
 */
import type { CompiledChain, CompiledCluster, CompiledListener, CompiledRoute, Downstream, RequestContext, Snapshot } from '../types.js'
import { NO_ATTEMPT_OBSERVERS } from './attempt-events.js'
import { sendAttempt } from './send-attempt.js'
import { pickEndpoint } from '../lb/pick.js'
import { complete } from '../http/respond.js'
import { failInternally } from '../internal-error.js'

export interface ClusterCallRequest {
  /** The caller-side path, as a client would send it (`/v1/embeddings`). */
  readonly path: string
  /** The JSON body, in the OpenAI format (the provider translates where it must). */
  readonly json: Record<string, unknown>
  readonly timeoutMs: number
  /** Sent upstream as x-request-id: the side call is traceable to the request that made it. */
  readonly requestId: string
}

export type ClusterCallResult =
  | { readonly ok: true; readonly status: number; readonly headers: readonly (readonly [string, string])[]; readonly body: Buffer }
  | { readonly ok: false; readonly reason: 'timeout' | 'error' }

/** Side calls each get an id of their own (for logs and the mock provider's answer ids). */
let nextId = 0

export function callCluster(snapshot: Snapshot, cluster: CompiledCluster, req: ClusterCallRequest): Promise<ClusterCallResult> {
  return new Promise((resolve) => {
    const down = new CollectingDownstream(resolve)
    const body = Buffer.from(JSON.stringify(req.json))
    const model = typeof req.json.model === 'string' ? req.json.model : undefined
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': req.requestId }
    const head = { method: 'POST', path: req.path, query: '', headers, model, json: req.json, identity: undefined }
    const ctx: RequestContext = {
      id: `side${(nextId++).toString(36)}`,
      requestId: req.requestId,
      snapshot,
      listener: SIDE_LISTENER,
      protocol: 'openai',
      head,
      peer: '',
      headers,
      body,
      json: req.json,
      route: SIDE_ROUTE,
      cluster,
      endpoint: undefined,
      responseHeaders: [],
      status: 0,
      downstream: down,
      startedAt: performance.now(),
      usage: undefined,
      servedModel: undefined,
      filterState: undefined,
      chain: NO_FILTERS,
      finished: false,
      attempt: undefined,
      attemptObservers: NO_ATTEMPT_OBSERVERS,
      exchange: undefined,
      usageInjected: false,
      onDone: undefined,
      firstByteAt: 0,
      bytesOut: 0,
      bytesIn: body.length,
    }
    // What dispatch does for a client that goes away: stop the exchange, end the request.
    down.onAbort(() => {
      ctx.exchange?.onClientAbort()
      complete(ctx)
    })
    const timer = setTimeout(() => down.timeOut(), req.timeoutMs)
    down.onSettled = () => clearTimeout(timer)
    try {
      // No exchange timeout of its own (0): the side call's timer above ends it, so a timeout is
      // always reported as one (the exchange's own would answer a 504 that would race it).
      sendAttempt(ctx, cluster, pickEndpoint(cluster, head), 0, undefined)
    } catch (e) {
      failInternally(ctx, 'cluster side call', e)
      down.fail()
    }
  })
}

/** Collects the answer; settles once, on end, close, or the side call's own timeout. */
class CollectingDownstream implements Downstream {
  aborted = false
  onSettled: (() => void) | undefined
  private status = 0
  private headers: readonly (readonly [string, string])[] = []
  private readonly parts: Buffer[] = []
  private abortCb: (() => void) | undefined
  private settled = false

  constructor(private readonly resolve: (r: ClusterCallResult) => void) {}

  onAbort(cb: () => void): void {
    this.abortCb = cb
  }
  onWritable(): void {}
  writeHead(status: number, headers: readonly (readonly [string, string])[]): void {
    this.status = status
    this.headers = headers
  }
  write(chunk: Uint8Array | string): boolean {
    this.parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk))
    return true
  }
  end(chunk?: Uint8Array | string): void {
    if (chunk !== undefined && chunk.length > 0) this.write(chunk)
    this.settle({ ok: true, status: this.status, headers: this.headers, body: this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts) })
  }
  close(): void {
    this.settle({ ok: false, reason: 'error' })
  }

  /** The side call's deadline: the exchange is stopped as a client that went away stops it. */
  timeOut(): void {
    if (this.settled) return
    this.settle({ ok: false, reason: 'timeout' })
    this.aborted = true
    const cb = this.abortCb
    this.abortCb = undefined
    cb?.()
  }

  fail(): void {
    this.settle({ ok: false, reason: 'error' })
  }

  private settle(r: ClusterCallResult): void {
    if (this.settled) return
    this.settled = true
    this.onSettled?.()
    this.resolve(r)
  }
}

const NO_FILTERS: CompiledChain = Object.freeze({ names: [], onRequest: [], onResponse: [], onChunk: [], onComplete: [] })

/** What the exchange reads of a route: no rewrite, no retry, the cluster's own timeouts. */
const SIDE_ROUTE: CompiledRoute = Object.freeze({
  name: 'side-call',
  index: -1,
  test: () => false,
  action: { kind: 'direct' as const, reply: { status: 500, headers: [], body: Buffer.alloc(0) } },
  chain: NO_FILTERS,
  timeoutMs: undefined,
  firstTokenTimeoutMs: undefined,
  idleTimeoutMs: undefined,
  modelRewrite: undefined,
  retry: undefined,
  fallbackOn: undefined,
  streamRecovery: 'error',
})

/** No routing headers, no access log: the side call answers nobody but its caller. */
const SIDE_LISTENER: CompiledListener = Object.freeze({
  name: 'side-call',
  address: '',
  port: 0,
  protocol: 'openai',
  maxBodyBytes: 0,
  routingHeaders: false,
  table: { name: 'side-call', routes: [], match: () => undefined },
  filterNames: [],
  modelsReply: { status: 404, headers: [], body: Buffer.alloc(0) },
  chain: NO_FILTERS,
  preRoute: [],
  readsPeer: false,
})
