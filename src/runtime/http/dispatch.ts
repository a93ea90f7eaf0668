/**
 * The per-request path after the body is in: parse JSON, match a route, run the filter chain,
 * take the route's action. Socket-free: tests drive it with an in-memory Downstream.
 *
 * hot path -- change with care: no config reads, no per-request closures beyond the unavoidable.
 */
import type { CompiledListener, Downstream, LocalReply, RequestContext, RequestHead, Snapshot } from '../types.js'
import { complete, sendError, sendReply } from './respond.js'
import { protocolOf } from '../providers/caller.js'
import { Attempts, type Candidate } from '../upstream/attempts.js'
import { sendAttempt } from '../upstream/send-attempt.js'
import { NO_ATTEMPT_OBSERVERS } from '../upstream/attempt-events.js'
import { pickEndpoint } from '../lb/pick.js'
import { randomBytes } from 'node:crypto'
import { parseRequestBody, type ParsedBody } from './request-body.js'
import { refusePath } from './request-path.js'
import { failInternally } from '../internal-error.js'
import { isPreflightAnswer } from '../filters/cors.js'
import { IdentityMessages } from '../identity/auth-replies.js'
import { isBatchApiPath, relayBatchApi } from '../batches/api-relay.js'
import { requestModel } from '../models/registry.js'
import { admitModel } from '../models/admission.js'
import { modelNotFound } from '../models/listing.js'

/**
 * Test-only: a request carrying this header throws outside every request boundary, to prove that a
 * dying worker does not take the process down (test/regressions/issue-10-worker-crash). Unset in production.
 */
const CRASH_HEADER = process.env.SWITCHYARD_TEST_CRASH_HEADER?.toLowerCase()

let nextId = 0
/** Random per process, so generated request ids do not repeat across workers, restarts and hosts. */
const ID_PREFIX = `sy${randomBytes(5).toString('hex')}`

export interface IncomingRequest {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly headers: Record<string, string>
  readonly body: Buffer | undefined
  /** Already resolved (a batch line runs as its batch's creator): the pre-route auth filters do not run. */
  readonly identity?: import('../types.js').Identity
}

export function dispatch(snapshot: Snapshot, listener: CompiledListener, req: IncomingRequest, downstream: Downstream, onDone?: () => void): RequestContext {
  if (CRASH_HEADER !== undefined && req.headers[CRASH_HEADER] !== undefined) setTimeout(() => { throw new Error('test crash requested') }, 0)
  const parsed = parseRequestBody(req.body, req.headers['content-type'])
  // With a model registry, the caller's alias (or a deprecated model being rewritten) is resolved before anything reads it.
  const model = snapshot.models === undefined ? parsed.model : requestModel(snapshot.models, parsed.model)
  const head: RequestHead = { method: req.method, path: req.path, query: req.query, headers: req.headers, model, json: parsed.json, identity: req.identity }
  const id = ID_PREFIX + (nextId++).toString(36)
  const ctx: RequestContext = {
    id,
    requestId: requestIdOf(req.headers, id),
    snapshot,
    listener,
    protocol: protocolOf(req.path, listener.protocol),
    head,
    peer: undefined,
    headers: req.headers,
    body: req.body,
    json: parsed.json,
    route: undefined,
    cluster: undefined,
    endpoint: undefined,
    responseHeaders: [],
    status: 0,
    downstream,
    startedAt: performance.now(),
    usage: undefined,
    servedModel: undefined,
    filterState: undefined,
    chain: listener.chain,
    finished: false,
    attempt: undefined,
    attemptObservers: NO_ATTEMPT_OBSERVERS,
    exchange: undefined,
    usageInjected: false,
    onDone,
    firstByteAt: 0,
    bytesOut: 0,
    bytesIn: req.body?.length ?? 0,
    answerFacts: undefined,
  }
  downstream.onAbort(() => clientAborted(ctx))
  // The error boundary: nothing this request does may take the worker down.
  try {
    route(ctx, parsed.error)
  } catch (e) {
    failInternally(ctx, 'dispatch', e)
  }
  return ctx
}

/** The client went away: the upstream exchange in progress stops (tokens cost money), the request ends. */
function clientAborted(ctx: RequestContext): void {
  const exchange = ctx.exchange
  if (exchange !== undefined) exchange.onClientAbort()
  complete(ctx)
}

function route(ctx: RequestContext, bodyError: ParsedBody['error']): void {
  const head = ctx.head
  if (bodyError !== undefined) return sendError(ctx, bodyError.code, bodyError.message)
  const badPath = refusePath(head.path)
  if (badPath !== undefined) return sendError(ctx, 'SY_BAD_REQUEST', badPath)
  const pre = head.identity === undefined ? ctx.listener.preRoute : NO_PRE_ROUTE
  // A browser sends a preflight without credentials: the cors filter's preflight answer (and only it) comes
  // before auth, which would refuse it. Any other route an OPTIONS matches still authenticates.
  if (pre.length > 0 && isPreflight(head) && isPreflightAnswer(ctx.listener.table.match(head))) return matchRoute(ctx)
  for (let i = 0; i < pre.length; i++) {
    const r = pre[i].onRequest!(ctx)
    if (r === undefined) continue
    if (isPromise(r)) {
      r.then((reply) => (reply ? sendReply(ctx, reply) : continuePreRoute(ctx, i + 1)), (e) => preRouteFailed(ctx, e)).catch((e) => failInternally(ctx, 'pre-route filters', e))
      return
    }
    return sendReply(ctx, r as LocalReply)
  }
  matchRoute(ctx)
}

const NO_PRE_ROUTE: readonly import('../types.js').Filter[] = []

function isPreflight(head: RequestContext['head']): boolean {
  return head.method === 'OPTIONS' && head.headers.origin !== undefined && head.headers['access-control-request-method'] !== undefined
}

/** The rest of the pre-route filters after one answered asynchronously (a JWT check), then the match. */
async function continuePreRoute(ctx: RequestContext, from: number): Promise<void> {
  const pre = ctx.listener.preRoute
  try {
    for (let i = from; i < pre.length; i++) {
      if (ctx.finished) return
      const reply = await pre[i].onRequest!(ctx)
      if (reply) return sendReply(ctx, reply)
    }
  } catch (e) {
    return preRouteFailed(ctx, e)
  }
  if (!ctx.finished) matchRoute(ctx)
}

function preRouteFailed(ctx: RequestContext, e: unknown): void {
  failInternally(ctx, `pre-route filter on listener '${ctx.listener.name}'`, e)
}

function matchRoute(ctx: RequestContext): void {
  const head = ctx.head
  const listener = ctx.listener
  if (listener.batchApi === true && isBatchApiPath(head.path)) return relayBatchApi(ctx)
  // With a model registry the gateway lists its models itself, unless a rule names the path (listing.ts).
  if (listener.modelsFirst === true && head.method === 'GET' && answerModels(ctx, listener)) return
  const route = listener.table.match(head)
  if (route === undefined) {
    if (head.method === 'GET' && answerModels(ctx, listener)) return
    if (head.identity !== undefined && listener.table.servesOtherIdentities?.(head)) return sendError(ctx, 'SY_FORBIDDEN', IdentityMessages.route)
    return sendError(ctx, 'SY_NO_ROUTE', `no route for ${head.method} ${head.path}${head.model !== undefined ? ` with model '${head.model}'` : ''}`)
  }
  ctx.route = route
  ctx.chain = route.chain
  if (route.attemptObservers !== undefined) ctx.attemptObservers = route.attemptObservers
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
      r.then((reply) => (reply ? sendReply(ctx, reply) : continueChain(ctx, i + 1)), (e) => filterFailed(ctx, e)).catch((e) => failInternally(ctx, 'filter chain', e))
      return
    }
    return sendReply(ctx, r as LocalReply)
  }
  act(ctx)
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
  failInternally(ctx, `filter on route '${ctx.route?.name}'`, e)
}

function act(ctx: RequestContext): void {
  const route = ctx.route!
  const action = route.action
  if (action.kind === 'direct') return sendReply(ctx, action.reply)
  // The registered model's checks, before any provider: a refusal answers, a prompt too long may skip down a fallback chain.
  const registry = ctx.snapshot.models
  const from = registry === undefined ? 0 : admitModel(registry, ctx, route)
  if (from < 0) return
  if (action.kind === 'fallback' || route.retry !== undefined || ctx.cluster!.retry !== undefined) {
    const candidates: readonly Candidate[] = action.kind === 'fallback' ? (from === 0 ? action.clusters : action.clusters.slice(from)) : [{ cluster: ctx.cluster!, modelRewrite: undefined }]
    const attempts = new Attempts(ctx, route, candidates)
    ctx.attempt = attempts
    return attempts.start()
  }
  const cluster = ctx.cluster!
  sendAttempt(ctx, cluster, pickEndpoint(cluster, ctx.head), route.timeoutMs ?? cluster.timeoutMs, undefined)
}

/**
 * `GET /v1/models`, and `GET /v1/models/<id>` (an alias answers its model's object; an unknown id
 * 404 in the caller's protocol); false for any other path.
 */
function answerModels(ctx: RequestContext, listener: CompiledListener): boolean {
  const path = ctx.head.path
  if (path !== '/v1/models' && !path.startsWith('/v1/models/')) return false
  // An identified caller sees what its tenant and key may use; anyone else the listener's whole list.
  const own = ctx.head.identity !== undefined ? listener.modelsFor?.(ctx.head, ctx.snapshot.identity) : undefined
  if (path === '/v1/models') {
    sendReply(ctx, (own ?? listener).modelsReply)
    return true
  }
  const replies = (own ?? listener).modelReplies
  if (replies === undefined) return false
  let id = path.slice('/v1/models/'.length)
  try {
    id = decodeURIComponent(id)
  } catch {}
  sendReply(ctx, replies.get(id) ?? modelNotFound(ctx.protocol, id))
  return true
}

/** The request id of a request refused before dispatch (413, bad framing): the same rule. */
export function refusedRequestId(headers: Record<string, string>): string {
  return requestIdOf(headers, ID_PREFIX + (nextId++).toString(36))
}

/**
 * The caller's x-request-id when it is sane (1–128 visible ASCII characters), else `generated`;
 * the header is set to it, so it goes upstream with the request.
 */
function requestIdOf(headers: Record<string, string>, generated: string): string {
  const given = headers['x-request-id']
  if (given !== undefined && given.length <= 128 && SANE_REQUEST_ID.test(given)) return given
  headers['x-request-id'] = generated
  return generated
}
const SANE_REQUEST_ID = /^[\x21-\x7e]+$/

function isPromise(v: unknown): v is Promise<LocalReply | undefined | void> {
  return typeof (v as Promise<unknown>)?.then === 'function'
}
