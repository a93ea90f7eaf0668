/**
 * Sends one attempt: the cluster's concurrency limits first, then the model rewrites for this
 * cluster, then its provider; reports the attempt's start to the request's observers. Every
 * attempt of every request goes through here (dispatch calls it for a route without retries,
 * Attempts for each try of one with them).
 *
 * hot path -- change with care.
 */
import type { CompiledCluster, CompiledEndpoint, RequestContext, UpstreamFailure } from '../types.js'
import { RETRY_COST } from '../../shared/shared-state.js'
import { sendError } from '../http/respond.js'
import { emitAttemptFailed, emitAttemptStart } from './attempt-events.js'

export function sendAttempt(ctx: RequestContext, cluster: CompiledCluster, endpoint: CompiledEndpoint, timeoutMs: number, fallbackModel: string | undefined): void {
  ctx.cluster = cluster
  ctx.endpoint = endpoint
  const attempt = ctx.attempt
  emitAttemptStart(ctx, cluster, endpoint, attempt === undefined ? 1 : attempt.attempts)
  const limits = cluster.limits
  // Requests can only be pending once the endpoint's connections are all busy: check that first.
  const busy = endpoint.pool !== undefined && endpoint.stats.inflight >= cluster.poolConnections
  if (cluster.stats.inflight >= limits.maxRequests || (busy && pendingOf(endpoint) >= limits.maxPendingRequests)) {
    // Circuit-breaker limit: fail fast (or move on to a fallback), never queue without bound.
    cluster.stats.overflow()
    if (attempt?.takeOver(OVERFLOW)) return
    emitAttemptFailed(ctx, OVERFLOW, 'none')
    return sendError(ctx, 'SY_OVERFLOW', `cluster '${cluster.name}' is at its concurrency limit`)
  }
  const budget = limits.retryBudget
  if (budget !== undefined && (attempt === undefined || attempt.attempts === 1)) cluster.stats.deposit(budget.percent, RETRY_COST * 100)
  const json = ctx.json
  if (json !== undefined && json !== null && typeof json === 'object' && !Array.isArray(json)) {
    // Which model (fallback entry, else route rewrite, else the caller's), then what this provider calls it.
    const asked = ctx.head.model
    let model = fallbackModel ?? ctx.route!.modelRewrite ?? asked
    const mapped = typeof model === 'string' && Object.hasOwn(cluster.modelMap, model) ? cluster.modelMap[model] : undefined
    if (mapped !== undefined) model = mapped
    if (typeof model === 'string') ctx.servedModel = model
    if (model !== json.model) {
      json.model = model
      ctx.body = Buffer.from(JSON.stringify(json))
    }
  }
  cluster.provider.forward(ctx, endpoint, timeoutMs)
}

const OVERFLOW: UpstreamFailure = Object.freeze({ kind: 'overflow' })

function pendingOf(endpoint: CompiledEndpoint): number {
  // undici's Pool keeps one stats object; `pending` counts requests waiting for a connection.
  return (endpoint.pool as unknown as { stats: { pending: number } }).stats.pending
}
