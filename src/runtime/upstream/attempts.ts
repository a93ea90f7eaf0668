/**
 * Retries and fail-over for one request; each try goes out through sendAttempt. The route's action gives an ordered list of clusters (one for `cluster`/`weighted_clusters`, several
 * for `fallback`); each gets `num_retries` retries with full-jitter backoff, preferring another
 * endpoint. Everything happens before the first byte reaches the client — providers hand a failure
 * to takeOver() only then (continueStream() is the exception: a broken stream resumed elsewhere).
 * What follows a failure (retry, fallback, continuation) is reported to the request's observers
 * (attempt-events.ts) here, where it is decided.
 */
import type { AttemptControl, CompiledCluster, CompiledEndpoint, CompiledRetry, CompiledRoute, RequestContext, UpstreamFailure } from '../types.js'
import { emitAttemptFailed } from './attempt-events.js'
import { sendAttempt } from './send-attempt.js'
import { log } from '../../shared/log.js'
import { retryDelayMs } from '../resilience/retry.js'
import { pickEligible, pickEndpoint } from '../lb/pick.js'
import { ContinuationRewriter, StreamRecorder, continuationRequest, trimmedByPrefill } from './stream-recovery.js'
import { guarded } from '../internal-error.js'
import { operationOf } from '../providers/caller.js'

export interface Candidate {
  readonly cluster: CompiledCluster
  readonly modelRewrite: string | undefined
}

export class Attempts implements AttemptControl {
  attempts = 0
  readonly recorder: StreamRecorder | undefined
  continuation: ContinuationRewriter | undefined
  private index = 0
  private retriesLeft: number
  private lastEndpoint: CompiledEndpoint | undefined
  private readonly deadline: number
  /** The cluster whose retry slot this request holds, if any. */
  private retrySlot: CompiledCluster | undefined

  constructor(
    private readonly ctx: RequestContext,
    private readonly route: CompiledRoute,
    private readonly candidates: readonly Candidate[],
  ) {
    this.retriesLeft = this.policy()?.numRetries ?? 0
    // Continuation splices Chat Completions chunks only.
    this.recorder = route.streamRecovery === 'continue' && ctx.protocol === 'openai' && operationOf(ctx.head.path) === 'chat' && ctx.json?.stream === true ? new StreamRecorder() : undefined
    const total = route.timeoutMs ?? candidates[0].cluster.timeoutMs
    this.deadline = performance.now() + total
  }

  start(): void {
    this.send()
  }

  /** The route's retry policy, else the default of the cluster being tried. */
  private policy(): CompiledRetry | undefined {
    return this.route.retry ?? this.candidates[this.index].cluster.retry
  }

  wantsStatus(status: number): boolean {
    const r = this.policy()
    if (r && r.statuses(status)) return true
    return this.index + 1 < this.candidates.length && this.route.fallbackOn !== undefined && (status >= 500 || status === 429 || status === 400 || status === 413)
  }

  takeOver(f: UpstreamFailure): boolean {
    if (this.ctx.finished || this.ctx.downstream.aborted) return false
    const remaining = this.deadline - performance.now()
    if (remaining <= 0) return false
    const r = this.policy()
    const cluster = this.candidates[this.index].cluster
    if (r && this.retriesLeft > 0 && f.kind !== 'overflow' && r.retryOn(f)) {
      const wait = this.retryDelay(f)
      if (wait !== 'fail_over' && wait < remaining && this.takeRetrySlot(cluster)) {
        this.retriesLeft--
        log('debug', 'retrying', { route: this.route.name, attempt: this.attempts + 1, failure: describe(f), wait_ms: Math.round(wait) })
        emitAttemptFailed(this.ctx, f, 'retry')
        if (wait <= 0) this.send()
        else setTimeout(() => guarded(this.ctx, 'retry', () => this.send()), wait)
        return true
      }
    }
    const next = this.index + 1
    // An overflowing cluster is not unhealthy, but it cannot serve: the next fallback may.
    if (next < this.candidates.length && (f.kind === 'overflow' || this.route.fallbackOn?.(f))) {
      this.index = next
      this.retriesLeft = this.policy()?.numRetries ?? 0
      this.lastEndpoint = undefined
      log('info', 'failing over', { route: this.route.name, to: this.candidates[next].cluster.name, failure: describe(f) })
      emitAttemptFailed(this.ctx, f, 'fallback')
      this.send()
      return true
    }
    return false
  }

  continueStream(f: UpstreamFailure): boolean {
    const next = this.index + 1
    const rec = this.recorder
    if (!rec || next >= this.candidates.length || this.ctx.finished || this.ctx.downstream.aborted) return false
    if (performance.now() >= this.deadline) return false
    this.index = next
    this.lastEndpoint = undefined
    const nextCluster = this.candidates[next].cluster
    const json = continuationRequest(this.ctx.json, rec.text, nextCluster.continuationPrefill)
    this.ctx.json = json
    this.ctx.body = Buffer.from(JSON.stringify(json))
    this.continuation = new ContinuationRewriter(rec, trimmedByPrefill(rec.text, nextCluster.continuationPrefill))
    log('warn', 'stream broke mid-answer; continuing on the next fallback', { route: this.route.name, to: nextCluster.name, received_chars: rec.text.length, failure: describe(f) })
    emitAttemptFailed(this.ctx, f, 'continue')
    this.send()
    return true
  }

  release(): void {
    this.retrySlot?.stats.releaseRetry()
    this.retrySlot = undefined
  }

  /**
   * Concurrent retries per cluster are capped (max_retries, or the retry budget: a share of the
   * cluster's active requests), so an outage cannot multiply the load on it.
   */
  private takeRetrySlot(cluster: CompiledCluster): boolean {
    const l = cluster.limits
    if (this.retrySlot === cluster) {
      // Already holding this cluster's concurrency slot; a budget still charges every retry.
      if (!l.retryBudget || cluster.stats.tryWithdraw()) return true
      cluster.stats.overflow()
      return false
    }
    this.release()
    // With a budget: retries are paid for by the cluster's own requests (percent of them), with
    // `min_retry_concurrency` retries always allowed; without: at most max_retries at once.
    const stats = cluster.stats
    let ok: boolean
    if (!l.retryBudget) ok = stats.tryRetry(l.maxRetries)
    else if (stats.tryRetry(l.retryBudget.minRetryConcurrency)) ok = true
    else ok = stats.tryWithdraw() && stats.tryRetry(Number.MAX_SAFE_INTEGER)
    if (!ok) {
      stats.overflow()
      log('debug', 'retry refused by the retry limit', { cluster: cluster.name })
      return false
    }
    this.retrySlot = cluster
    return true
  }

  /** Full jitter (AWS style); a Retry-After within the cap is honoured, beyond it we fail over. */
  private retryDelay(f: UpstreamFailure): number | 'fail_over' {
    const r = this.policy()!
    return retryDelayMs(r.numRetries - this.retriesLeft, f.retryAfter, r, Date.now())
  }

  private send(): void {
    const ctx = this.ctx
    if (ctx.finished || ctx.downstream.aborted) return
    let c = this.candidates[this.index]
    let endpoint: CompiledEndpoint | undefined
    // A cluster with no eligible endpoint is passed over while a later fallback remains; the last
    // one serves in panic mode rather than not at all.
    while ((endpoint = this.index + 1 < this.candidates.length ? pickEligible(c.cluster, ctx.head, this.lastEndpoint) : pickEndpoint(c.cluster, ctx.head, this.lastEndpoint)) === undefined) {
      log('info', 'failing over', { route: this.route.name, from: c.cluster.name, to: this.candidates[this.index + 1].cluster.name, failure: 'no eligible endpoint' })
      this.index++
      this.retriesLeft = this.policy()?.numRetries ?? 0
      this.lastEndpoint = undefined
      c = this.candidates[this.index]
    }
    this.lastEndpoint = endpoint
    this.attempts++
    const remaining = Math.max(1, this.deadline - performance.now())
    const perTry = this.policy()?.perTryTimeoutMs
    sendAttempt(ctx, c.cluster, endpoint, perTry !== undefined ? Math.min(perTry, remaining) : remaining, c.modelRewrite)
  }
}


function describe(f: UpstreamFailure): string {
  return f.kind === 'status' ? `status ${f.status}${f.contextLength ? ' (context length)' : ''}` : f.kind
}
