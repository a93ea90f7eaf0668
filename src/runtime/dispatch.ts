/**
 * The per-request path after the body is in: parse JSON, match a route, run the filter chain,
 * take the route's action. Socket-free: tests drive it with an in-memory Downstream.
 *
 * hot path -- change with care: no config reads, no per-request closures beyond the unavoidable.
 */
import type { CompiledCluster, CompiledEndpoint, CompiledListener, Downstream, LocalReply, RequestContext, RequestHead, Snapshot } from './types.js'
import { complete, sendError, sendReply } from './respond.js'
import { protocolOf } from './providers/caller.js'
import { Attempts, type Candidate } from './attempts.js'
import { RETRY_COST } from './shared-state.js'
import { pickEndpoint } from './pick.js'

let nextId = 0
const ID_PREFIX = `${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`

export interface IncomingRequest {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly headers: Record<string, string>
  readonly body: Buffer | undefined
}

export function dispatch(snapshot: Snapshot, listener: CompiledListener, req: IncomingRequest, downstream: Downstream, onDone?: () => void): RequestContext {
  let json: any
  let model: string | undefined
  let badJson: string | undefined
  const body = req.body
  if (body !== undefined && body.length > 0 && wantsJson(req.headers['content-type'], body)) {
    try {
      json = JSON.parse(body.toString('utf8'))
      if (json !== null && typeof json === 'object' && typeof json.model === 'string') model = json.model
    } catch (e) {
      badJson = (e as Error).message
    }
  }
  const head: RequestHead = { method: req.method, path: req.path, query: req.query, headers: req.headers, model, json }
  const ctx: RequestContext = {
    id: ID_PREFIX + (nextId++).toString(36),
    snapshot,
    listener,
    protocol: protocolOf(req.path, listener.protocol),
    head,
    headers: req.headers,
    body,
    json,
    route: undefined,
    cluster: undefined,
    endpoint: undefined,
    responseHeaders: [],
    status: 0,
    downstream,
    startedAt: performance.now(),
    usage: undefined,
    filterState: undefined,
    chain: listener.chain,
    finished: false,
    attempt: undefined,
    usageInjected: false,
    onDone,
  }
  downstream.onAbort(() => complete(ctx))
  if (badJson !== undefined) {
    sendError(ctx, 'SY_BAD_JSON', `request body is not valid JSON: ${badJson}`)
    return ctx
  }
  const route = listener.table.match(head)
  if (route === undefined) {
    if (req.path === '/v1/models' && req.method === 'GET') {
      sendReply(ctx, listener.modelsReply)
      return ctx
    }
    sendError(ctx, 'SY_NO_ROUTE', `no route for ${req.method} ${req.path}${model !== undefined ? ` with model '${model}'` : ''}`)
    return ctx
  }
  ctx.route = route
  ctx.chain = route.chain
  // Pick the variant before filters run: a filter that rewrites headers must not move a sticky user.
  const action = route.action
  if (action.kind === 'cluster') ctx.cluster = action.cluster
  else if (action.kind === 'weighted') ctx.cluster = action.pick(head)
  else if (action.kind === 'fallback') ctx.cluster = action.clusters[0].cluster
  const hooks = route.chain.onRequest
  for (let i = 0; i < hooks.length; i++) {
    const r = hooks[i].onRequest!(ctx)
    if (r === undefined) continue
    if (isPromise(r)) {
      r.then((reply) => (reply ? sendReply(ctx, reply) : continueChain(ctx, i + 1)), (e) => filterFailed(ctx, e))
      return ctx
    }
    sendReply(ctx, r as LocalReply)
    return ctx
  }
  act(ctx)
  return ctx
}

async function continueChain(ctx: RequestContext, from: number): Promise<void> {
  const hooks = ctx.route!.chain.onRequest
  try {
    for (let i = from; i < hooks.length; i++) {
      if (ctx.finished) return
      const reply = await hooks[i].onRequest!(ctx)
      if (reply) return sendReply(ctx, reply)
    }
  } catch (e) {
    return filterFailed(ctx, e)
  }
  if (!ctx.finished) act(ctx)
}

function filterFailed(ctx: RequestContext, e: unknown): void {
  console.error(`filter error on route '${ctx.route?.name}': ${(e as Error)?.message ?? e}`)
  sendError(ctx, 'SY_INTERNAL', 'internal gateway error')
}

function act(ctx: RequestContext): void {
  const route = ctx.route!
  const action = route.action
  if (action.kind === 'direct') return sendReply(ctx, action.reply)
  if (action.kind === 'fallback' || route.retry !== undefined || ctx.cluster!.retry !== undefined) {
    const candidates: readonly Candidate[] = action.kind === 'fallback' ? action.clusters : [{ cluster: ctx.cluster!, modelRewrite: undefined }]
    const attempts = new Attempts(ctx, route, candidates, forwardTo)
    ctx.attempt = attempts
    return attempts.start()
  }
  const cluster = ctx.cluster!
  const endpoint = pickEndpoint(cluster, ctx.head)
  ctx.endpoint = endpoint
  forwardTo(ctx, cluster, endpoint, route.timeoutMs ?? cluster.timeoutMs, undefined)
}

/** Applies model rewrites for this cluster, then hands the request to its provider. */
function forwardTo(ctx: RequestContext, cluster: CompiledCluster, endpoint: CompiledEndpoint, timeoutMs: number, fallbackModel: string | undefined): void {
  const limits = cluster.ir.limits
  // Requests can only be pending once the endpoint's connections are all busy: check that first.
  const busy = endpoint.pool !== undefined && endpoint.stats.inflight >= cluster.poolConnections
  if (cluster.stats.inflight >= limits.maxRequests || (busy && pendingOf(endpoint) >= limits.maxPendingRequests)) {
    // Circuit-breaker limit: fail fast (or move on to a fallback), never queue without bound.
    cluster.stats.overflow()
    if (ctx.attempt?.takeOver({ kind: 'overflow' })) return
    return sendError(ctx, 'SY_OVERFLOW', `cluster '${cluster.name}' is at its concurrency limit`)
  }
  const budget = limits.retryBudget
  if (budget !== undefined && (ctx.attempt === undefined || ctx.attempt.attempts === 1)) cluster.stats.deposit(budget.percent, RETRY_COST * 100)
  const json = ctx.json
  if (json !== undefined && json !== null && typeof json === 'object' && !Array.isArray(json)) {
    // Which model (fallback entry, else route rewrite, else the caller's), then what this provider calls it.
    const asked = ctx.head.model
    let model = fallbackModel ?? ctx.route!.modelRewrite ?? asked
    const mapped = typeof model === 'string' ? cluster.modelMap[model] : undefined
    if (mapped !== undefined) model = mapped
    if (model !== json.model) {
      json.model = model
      ctx.body = Buffer.from(JSON.stringify(json))
    }
  }
  cluster.provider.forward(ctx, endpoint, timeoutMs)
}

function pendingOf(endpoint: CompiledEndpoint): number {
  // undici's Pool keeps one stats object; `pending` counts requests waiting for a connection.
  return (endpoint.pool as unknown as { stats: { pending: number } }).stats.pending
}

function wantsJson(contentType: string | undefined, body: Buffer): boolean {
  // LLM APIs are JSON. Many hand-written calls (curl -d) send a form content-type with a JSON body;
  // accept those, but leave real non-JSON uploads (multipart audio, …) alone.
  if (contentType === undefined || contentType.includes('json')) return true
  let i = 0
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++
  return body[i] === 0x7b /* { */ || body[i] === 0x5b /* [ */
}

function isPromise(v: unknown): v is Promise<LocalReply | undefined | void> {
  return typeof (v as Promise<unknown>)?.then === 'function'
}
