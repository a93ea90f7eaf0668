/**
 * One upstream exchange: undici's handler for one attempt. Its jobs: undici's callbacks inside the
 * request's error boundary, the timers (route timeout, first-token and idle watchdog) and the abort
 * when the client leaves, the endpoint's observation (latency, load, outlier and breaker verdicts),
 * picking the response strategy when the response starts, and the failure path. What the client is
 * sent is the strategy's job (pass-through, translate-response, error-answer), batching it the
 * writer's; holding back an answer a retry may replace is hold-for-retry's.
 *
 * hot path -- change with care (the pass-through case is what the benchmark measures). One object
 * per attempt plus its writer and strategy; timers get the call as their argument, not a closure.
 */
import type { Dispatcher } from 'undici'
import type { UpstreamProtocol } from '../../compiler/ir.js'
import type { CompiledEndpoint, Outcome, RequestContext, UpstreamFailure } from '../types.js'
import { loadFromHeader } from '../lb/dynamic-weights.js'
import { complete, failStream, sendError, startResponse } from '../http/respond.js'
import { ResponseWriter, type WriteSource } from '../http/response-writer.js'
import { failInternally } from '../internal-error.js'
import { RefusedAnswer, isRefusedAnswer } from '../errors.js'
import type { Operation } from '../providers/caller.js'
import type { CallerProtocol, ProtocolTranslator } from '../providers/translate/index.js'
import { log } from '../../shared/log.js'
import { forwardedResponseHeaders, type ResponseHeaderPolicy } from './headers.js'
import type { Exchange, ResponseStrategy, UpstreamHeaders } from './exchange.js'
import { HoldForRetry } from './hold-for-retry.js'
import { passThrough } from './pass-through.js'
import { translated } from './translate-response.js'
import { PassedError, TranslatedError } from './error-answer.js'
import { emitAttemptEnd, emitAttemptFailed, emitResponseChunk, emitResponseStart } from './attempt-events.js'

type Controller = Dispatcher.DispatchController

export class UpstreamCall implements Dispatcher.DispatchHandler, ResponseStrategy, Exchange, WriteSource {
  ended = false
  committed = false
  private readonly writer: ResponseWriter
  private controller: Controller | undefined
  private timer: NodeJS.Timeout | undefined
  /** Time-to-first-byte limit, then (for streams) the idle limit between chunks. */
  private watchdog: NodeJS.Timeout | undefined
  private readonly idleMs: number
  private timedOut = false
  private stalled = false
  private observed = false
  private readonly sentAt = performance.now()
  /** Time to headers of a 2xx stream whose verdict waits for its end. */
  private streamLatencyMs: number | undefined
  /** Who gets the response: this call's own answer (start/data/end below), or a hold wrapping it. */
  private handler: ResponseStrategy = this
  /** What answers the client, picked when the response starts. */
  private strategy: ResponseStrategy | undefined

  constructor(
    readonly ctx: RequestContext,
    private readonly endpoint: CompiledEndpoint,
    /** This attempt's timeout (0: none); a gRPC endpoint sends it as the call's deadline. */
    readonly timeoutMs: number,
    readonly translator: ProtocolTranslator | undefined,
    readonly caller: CallerProtocol,
    readonly model: string,
    readonly injectedUsage: boolean,
    readonly upstreamProtocol: UpstreamProtocol,
    readonly responseHeaders: ResponseHeaderPolicy,
    readonly op: Operation,
  ) {
    this.writer = new ResponseWriter(ctx, this)
    if (timeoutMs > 0) this.timer = setTimeout(routeTimedOut, timeoutMs, this)
    const route = ctx.route!
    const cluster = ctx.cluster!
    const ttft = route.firstTokenTimeoutMs ?? cluster.firstTokenTimeoutMs
    this.idleMs = route.idleTimeoutMs ?? cluster.idleTimeoutMs
    if (ttft > 0) this.watchdog = setTimeout(stalled, ttft, this)
    ctx.exchange = this
  }

  // ---- timers and abort ----

  /** The route timeout (or the attempt's share of it) ran out. */
  onTimeout(): void {
    this.timedOut = true
    this.controller?.abort(new Error('route timeout'))
  }

  /** No first byte, or (streams) no chunk, within the watchdog's limit. */
  onStall(): void {
    this.timedOut = true
    this.stalled = true
    this.controller?.abort(new Error('upstream stalled'))
  }

  /** Every body chunk: the first-byte limit is met; the idle limit starts or restarts. */
  private progress(): void {
    if (this.idleMs > 0) {
      if (this.watchdog) this.watchdog.refresh()
      else this.watchdog = setTimeout(stalled, this.idleMs, this)
    } else if (this.watchdog) {
      clearTimeout(this.watchdog)
      this.watchdog = undefined
    }
  }

  onClientAbort(): void {
    // Tokens cost money: stop the upstream as soon as nobody is listening.
    this.controller?.abort(new Error('client aborted'))
    if (!this.ended) emitAttemptFailed(this.ctx, CLIENT_ABORT, 'none')
    this.endAttempt()
    complete(this.ctx)
  }

  /** The request could not be sent at all (signing failed). */
  failBeforeSend(message: string): void {
    this.ended = true
    if (this.timer) clearTimeout(this.timer)
    if (this.watchdog) clearTimeout(this.watchdog)
    emitAttemptFailed(this.ctx, CONNECT_FAILURE, 'none')
    sendError(this.ctx, 'SY_UPSTREAM_CONNECT', message)
  }

  // ---- undici's handler; each callback runs inside the request's error boundary (crashed()) ----

  onRequestStart(controller: Controller): void {
    this.controller = controller
    if (this.ctx.downstream.aborted) controller.abort(new Error('client aborted'))
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: UpstreamHeaders): void {
    try {
      this.responseStart(statusCode, headers)
    } catch (e) {
      this.crashed(e)
    }
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    try {
      if (this.watchdog !== undefined || this.idleMs > 0) this.progress()
      emitResponseChunk(this.ctx, chunk.length)
      this.handler.data(chunk)
    } catch (e) {
      this.crashed(e)
    }
  }

  onResponseEnd(): void {
    try {
      this.handler.end()
      // A strategy that refused its answer, or a hold a retry took over, has ended the attempt already.
      if (this.ended) return
      this.endAttempt()
      emitAttemptEnd(this.ctx, this.ctx.usage)
    } catch (e) {
      this.crashed(e)
    }
  }

  onResponseError(_controller: Controller, err: Error): void {
    try {
      this.responseError(err)
    } catch (e) {
      this.crashed(e)
    }
  }

  /** A bug or hostile input threw inside this exchange: stop the upstream, fail only this request. */
  crashed(e: unknown): void {
    const wasEnded = this.ended
    this.endAttempt()
    if (!wasEnded) this.controller?.abort(new Error('gateway error'))
    failInternally(this.ctx, 'upstream exchange', e)
  }

  // ---- observation ----

  /** Feeds the cluster's outlier detection, breakers and latency estimates, once per attempt. */
  private observe(outcome: Outcome): void {
    if (this.observed) return
    this.observed = true
    this.ctx.cluster?.guard?.record(this.endpoint, outcome)
  }

  streamSucceeded(): void {
    if (this.streamLatencyMs !== undefined) this.observe({ kind: 'success', latencyMs: this.streamLatencyMs })
  }

  streamFailed(): void {
    this.observe({ kind: 'gateway_error' })
  }

  private responseStart(statusCode: number, headers: UpstreamHeaders): void {
    const ctx = this.ctx
    const latencyMs = performance.now() - this.sentAt
    this.endpoint.stats.observeLatency(latencyMs)
    const loadHeader = ctx.cluster?.loadHeader
    if (loadHeader !== undefined) {
      const load = loadFromHeader(headers[loadHeader])
      if (load !== undefined) this.endpoint.stats.reportLoad(load)
    }
    if (!this.observed && ctx.cluster?.guard !== undefined) {
      const ra = headers['retry-after']
      if (statusCode === 429) this.observe({ kind: 'rate_limited', ...(typeof ra === 'string' && { retryAfter: ra }) })
      else if (statusCode >= 500) this.observe({ kind: 'http5xx', latencyMs })
      // A stream is judged at its end (a reset, stall or bad event is a failure); its latency is now.
      else if (statusCode < 300 && (isStreamType(headers['content-type']) || isJsonType(headers['content-type']))) this.streamLatencyMs = latencyMs
      else this.observe({ kind: 'success', latencyMs })
    }
    emitResponseStart(ctx, statusCode)
    const attempt = ctx.attempt
    // Keep the answer back: the route may retry or fail over, and the client must see nothing yet.
    if (statusCode >= 400 && attempt !== undefined && attempt.wantsStatus(statusCode)) this.handler = new HoldForRetry(this, attempt, this)
    this.handler.start(statusCode, headers)
  }

  // ---- this call's own answer: the strategy for the response (what a hold replays into) ----

  get streaming(): boolean {
    return this.strategy?.streaming === true
  }

  start(statusCode: number, headers: UpstreamHeaders): void {
    const ok = statusCode >= 200 && statusCode < 300
    if (!ok && this.ctx.attempt?.continuation !== undefined) {
      // The client's stream is already open: a refusal here is a mid-stream failure.
      this.committed = true
      this.strategy = REFUSED_CONTINUATION
      this.abort(new RefusedAnswer('SY_CONTINUATION'))
      return
    }
    if (statusCode >= 500) this.endpoint.stats.fail()
    const ctype = headers['content-type']
    const type = typeof ctype === 'string' ? ctype : ''
    const strategy = this.translator !== undefined
      ? ok ? translated(this, type) : new TranslatedError(this)
      : ok ? passThrough(this, type, headers) : new PassedError(this)
    this.strategy = strategy
    strategy.start(statusCode, headers)
  }

  data(chunk: Buffer): void {
    this.strategy!.data(chunk)
  }

  end(): void {
    this.strategy!.end()
  }

  // ---- what strategies call (Exchange) ----

  forwardHead(status: number, headers: UpstreamHeaders): void {
    if (this.ctx.attempt?.continuation === undefined) startResponse(this.ctx, status, forwardedResponseHeaders(headers, this.responseHeaders))
    else this.committed = true
  }

  openStream(): void {
    if (this.ctx.attempt?.continuation === undefined) startResponse(this.ctx, 200, [['content-type', 'text/event-stream'], ['cache-control', 'no-cache']])
    else this.committed = true
  }

  write(chunk: Buffer): void {
    this.committed = true
    const attempt = this.ctx.attempt
    if (attempt !== undefined) {
      const cont = attempt.continuation
      if (cont !== undefined) {
        chunk = cont.push(chunk)
        if (cont.refused) return this.abort(new RefusedAnswer('SY_RESTARTED'))
      }
      attempt.recorder?.push(chunk)
      if (chunk.length === 0) return
    }
    this.writer.write(chunk)
  }

  finish(last?: Buffer): void {
    this.writer.end(last)
  }

  abort(reason: Error): void {
    this.controller?.abort(reason)
  }

  refuse(reason: Error): void {
    this.responseError(reason)
  }

  pause(): void {
    this.controller?.pause()
  }

  resume(): void {
    this.controller?.resume()
  }

  settle(): void {
    this.endAttempt()
  }

  reopen(): void {
    this.ended = false
    this.endpoint.stats.start()
  }

  // ---- the failure path ----

  private responseError(err: Error): void {
    const ctx = this.ctx
    const wasEnded = this.ended
    this.endAttempt()
    if (wasEnded || ctx.finished) return
    // What the client was promised goes out before any error event or continuation.
    this.writer.flush()
    this.endpoint.stats.fail()
    const aborted = ctx.downstream.aborted
    if (!aborted) this.observe({ kind: 'gateway_error' })
    else if (this.streamLatencyMs !== undefined) this.streamSucceeded() // it was streaming fine until the client left
    else if (!this.observed) ctx.cluster?.guard?.abandon(this.endpoint)
    const failure = this.timedOut ? TIMEOUT : FAILURE_OF[failureKind(err)]
    if (!this.committed && !aborted && ctx.attempt?.takeOver(failure)) return
    const errCode = (err as { code?: string }).code
    const code = this.timedOut || errCode === 'UND_ERR_CONNECT_TIMEOUT' || errCode === 'GRPC_DEADLINE_EXCEEDED' ? 'SY_UPSTREAM_TIMEOUT' : 'SY_UPSTREAM_CONNECT'
    const message = this.stalled
      ? 'upstream stalled (first-token or idle timeout)'
      : this.timedOut ? 'upstream did not answer within the route timeout' : `cluster '${ctx.cluster?.name}' failed: ${describe(err)}`
    // The endpoint and the raw error code are for operators only (clients see the cluster name).
    log('debug', 'upstream attempt failed', { id: ctx.id, cluster: ctx.cluster?.name, endpoint: this.endpoint.url, error: (err as { code?: string }).code ?? err.message })
    const streaming = this.streaming
    // Headers already went out; a truncated JSON body must not look complete, a stream gets an error event.
    // A continuation that restarted the answer ends the stream: never a third answer spliced in.
    const restartedAnswer = isRefusedAnswer(err) && err.code === 'SY_RESTARTED'
    if (this.committed && streaming && !restartedAnswer && ctx.attempt?.recorder !== undefined && ctx.attempt.continueStream(failure)) return
    emitAttemptFailed(ctx, failure, 'none')
    // Nothing on the wire yet: the status can still change.
    if (!this.committed) return sendError(ctx, code, message)
    if (streaming) return failStream(ctx, code, message)
    ctx.downstream.close()
    complete(ctx)
  }

  /** The attempt is over: timers stop, what a strategy holds is dropped, the endpoint's in-flight count drops. */
  private endAttempt(): void {
    if (this.ended) return
    this.ended = true
    if (this.timer) clearTimeout(this.timer)
    if (this.watchdog) clearTimeout(this.watchdog)
    this.strategy?.stop?.()
    this.handler.stop?.()
    this.endpoint.stats.finish()
  }
}

function routeTimedOut(call: UpstreamCall): void {
  call.onTimeout()
}

function stalled(call: UpstreamCall): void {
  call.onStall()
}

/** What a refused continuation answers with: nothing (the abort it caused is the failure). */
const REFUSED_CONTINUATION: ResponseStrategy = { streaming: true, start() {}, data() {}, end() {} }

const TIMEOUT: UpstreamFailure = Object.freeze({ kind: 'timeout' })
const CONNECT_FAILURE: UpstreamFailure = Object.freeze({ kind: 'connect_failure' })
const CLIENT_ABORT = Object.freeze({ kind: 'client_abort' as const })
/** One frozen failure per kind: the failure path allocates none. */
const FAILURE_OF: Record<'connect_failure' | 'reset' | 'timeout', UpstreamFailure> = { connect_failure: CONNECT_FAILURE, reset: Object.freeze({ kind: 'reset' }), timeout: TIMEOUT }

function failureKind(err: Error): 'connect_failure' | 'reset' | 'timeout' {
  const code = (err as { code?: string }).code
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'GRPC_DEADLINE_EXCEEDED') return 'timeout'
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNABORTED' || code === 'GRPC_UNAVAILABLE') return 'connect_failure'
  // HTTP/2: a GOAWAY or a REFUSED_STREAM means the server did not process the request (safe to resend).
  if (isH2Refusal(err, code)) return 'connect_failure'
  return 'reset'
}

function isH2Refusal(err: Error, code: string | undefined): boolean {
  if (code === 'UND_ERR_SOCKET') return err.message.startsWith('HTTP/2: "GOAWAY"')
  return code === 'ERR_HTTP2_STREAM_ERROR' && err.message.includes('REFUSED_STREAM')
}

/** A client-safe account of a transport failure: no URL, no library error code. */
function describe(err: Error): string {
  const code = (err as { code?: string }).code
  if (isRefusedAnswer(err)) return err.message
  if (code === 'UND_ERR_SOCKET' && isH2Refusal(err, code)) return 'connection closed by the upstream (HTTP/2 GOAWAY)'
  return FAILURES[code ?? ''] ?? 'the upstream request failed'
}

const FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  UND_ERR_SOCKET: 'connection reset',
  EPIPE: 'connection reset',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'response body stalled',
  UND_ERR_HEADERS_OVERFLOW: 'response headers too large',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'response body shorter or longer than its content-length',
  HPE_INVALID_CONSTANT: 'malformed HTTP response',
  ENOTFOUND: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ECONNABORTED: 'connection aborted',
  ERR_HTTP2_STREAM_ERROR: 'stream reset by the upstream (HTTP/2 RST_STREAM)',
  ERR_HTTP2_SESSION_ERROR: 'HTTP/2 session error',
  GRPC_UNAVAILABLE: 'gRPC backend unavailable',
  GRPC_DEADLINE_EXCEEDED: 'gRPC deadline exceeded',
  GRPC_CANCELLED: 'gRPC call cancelled by the backend',
  GRPC_STREAM_FAILED: 'gRPC stream failed',
}

function isJsonType(ctype: string | string[] | undefined): boolean {
  return typeof ctype === 'string' && ctype.includes('json')
}

function isStreamType(ctype: string | string[] | undefined): boolean {
  return typeof ctype === 'string' && (ctype.startsWith('text/event-stream') || ctype.startsWith('application/vnd.amazon.eventstream'))
}
