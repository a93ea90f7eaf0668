/**
 * The adapter for every HTTP provider. Same protocol on both sides (an OpenAI client to an
 * OpenAI-compatible upstream, Anthropic to Anthropic): bytes are forwarded as received and usage
 * is tapped on the way. Different protocols: the request is translated, and the response — JSON,
 * SSE or AWS event-stream — is translated back as it arrives. Errors come back in the caller's
 * protocol either way. Uses undici's dispatch() with a handler object.
 *
 * hot path -- change with care (the pass-through case is what the benchmark measures).
 */
import { loadFromHeader } from '../lb/dynamic-weights.js'
import type { Dispatcher } from 'undici'
import type { ClusterIR, UpstreamProtocol } from '../../compiler/ir.js'
import type { CompiledEndpoint, ProviderAdapter, RequestContext } from '../types.js'
import { complete, failStream, finishResponse, sendChunk, sendError, sendReply, startResponse } from '../http/respond.js'
import { createResponseHeaderPolicy, forwardedRequestHeaders, forwardedResponseHeaders, type ResponseHeaderPolicy } from './headers.js'
import { failInternally } from '../internal-error.js'
import { RefusedAnswer, isRefusedAnswer } from '../errors.js'
import { translationErrorReply } from '../providers/translation-reply.js'
import { operationOf, type Operation } from '../providers/caller.js'
import { createTargetResolver, type UpstreamTarget } from './targets.js'
import { SseUsageTap, usageFromJsonBody } from '../providers/usage-tap.js'
import { isJsonDocument } from '../providers/json-syntax.js'
import { createProtocolTranslator, TranslationError, parseUpstreamError, usageFromAnthropic, usageFromOpenAI, usageFromResponses, type CallerProtocol, type ProtocolTranslator, type StreamTranslator } from '../providers/translate/index.js'
import { createSseParser, type SseParser } from '../providers/sse/sse-parser.js'
import { createEventStreamDecoder, type EventStreamDecoder } from '../providers/translate/aws-event-stream.js'
import { createSigV4Signer, type Signer } from '../providers/sigv4.js'
import { log } from '../../shared/log.js'
import type { Outcome } from '../resilience/outlier-detector.js'

/** Non-streamed bodies up to this size are sent in one write with a content-length. */
const BUFFER_LIMIT = 8 * 1024 * 1024
/** A translated JSON answer is decoded whole: beyond this it is a 502, not an unbounded buffer. */
const TRANSLATED_BODY_LIMIT = 16 * 1024 * 1024
/** Error answers are held whole (to retry, translate and scrub them); real ones are a few hundred bytes. */
const ERROR_BODY_LIMIT = 256 * 1024
/** One translated stream event (SSE or event-stream message) may not grow past this. */
const STREAM_EVENT_LIMIT = 4 * 1024 * 1024
const JSON_TYPE = ['content-type', 'application/json']

export function createHttpProvider(c: ClusterIR): ProviderAdapter {
  const targets = createTargetResolver(c as ClusterIR & { protocol: UpstreamProtocol })
  const responseHeaders = createResponseHeaderPolicy(c.forwardResponseHeaders ?? [])
  const translators = {
    openai: targets.protocol === 'openai' ? undefined : createProtocolTranslator('openai', targets.protocol, { defaultMaxTokens: c.anthropic.defaultMaxTokens }),
    anthropic: targets.protocol === 'anthropic' ? undefined : createProtocolTranslator('anthropic', targets.protocol, { defaultMaxTokens: c.anthropic.defaultMaxTokens }),
    // An OpenAI-format upstream serves the Responses API itself: those bytes pass through.
    responses: targets.protocol === 'openai' ? undefined : createProtocolTranslator('responses', targets.protocol, { defaultMaxTokens: c.anthropic.defaultMaxTokens }),
  }
  const signer: Signer | undefined =
    c.protocol === 'bedrock' && c.bedrock.accessKeyId && c.bedrock.secretAccessKey
      ? createSigV4Signer(c.bedrock.region, c.bedrock.accessKeyId, c.bedrock.secretAccessKey, c.bedrock.sessionToken)
      : undefined

  return {
    forward(ctx: RequestContext, endpoint: CompiledEndpoint, timeoutMs: number): void {
      const head = ctx.head
      const op = operationOf(head.path)
      const rest = head.path.startsWith('/v1/') ? head.path.slice(3) : head.path
      const json = ctx.json
      const model = typeof json?.model === 'string' ? json.model : ''
      const stream = json?.stream === true
      const responsesApi = op === 'responses' || op === 'stored_response'
      const caller: CallerProtocol = responsesApi ? 'responses' : ctx.protocol
      if (op === 'stored_response' && targets.protocol !== 'openai') {
        return sendError(ctx, 'SY_UNSUPPORTED', `stored responses exist only on OpenAI-format upstreams; cluster '${ctx.cluster?.name}' is provider '${c.provider}'`)
      }
      const translator = op === 'chat' || op === 'messages' || op === 'count_tokens' || op === 'responses' ? translators[caller] : undefined
      if (translator && op === 'count_tokens') return sendError(ctx, 'SY_UNSUPPORTED', `provider '${c.provider}' has no token counting endpoint`)
      if (!translator && !responsesApi && caller !== targets.protocol && op !== 'other' && op !== 'embeddings') {
        return sendError(ctx, 'SY_UNSUPPORTED', `cannot translate ${head.path} for provider '${c.provider}'`)
      }
      if (translator) {
        // The shape is checked before anything reads it (the model for the path included).
        const bad = translator.check(json)
        if (bad !== undefined) return sendReply(ctx, translationErrorReply(caller, bad))
      }
      const target = targets.resolve(endpoint, op, rest, head.query, model, stream)
      if ('refused' in target) return sendError(ctx, target.refused, target.message)

      let body = ctx.body
      let headers: string[]
      let injectedUsage = false
      if (translator) {
        let translated
        try {
          translated = translator.request(json)
        } catch (e) {
          if (e instanceof TranslationError) return sendReply(ctx, translationErrorReply(caller, e))
          throw e
        }
        if (translated.dropped.length) log('warn', 'parameters dropped in translation', { route: ctx.route?.name, provider: c.provider, dropped: translated.dropped.join(',') })
        body = Buffer.from(JSON.stringify(translated.body))
        headers = endpoint.baseHeaders.concat(JSON_TYPE, target.headers, 'x-request-id', ctx.requestId)
        // Without configured credentials, the caller's own key is passed on (never alongside a SigV4 signature).
        if (!endpoint.hasCredentials && !signer) copyClientCredential(ctx.headers, headers)
      } else {
        if (stream && op === 'chat' && json.stream_options?.include_usage !== true) {
          // Ask for usage so it can be accounted; the extra chunk is stripped on the way back.
          const had = json.stream_options !== undefined
          json.stream_options = { ...(json.stream_options ?? {}), include_usage: true }
          body = had ? Buffer.from(JSON.stringify(json)) : withUsageOption(body!)
          ctx.usageInjected = true
        }
        injectedUsage = ctx.usageInjected
        headers = forwardedRequestHeaders(ctx.headers, endpoint)
        if (target.headers.length) headers.push(...target.headers)
      }
      const call = new UpstreamCall(ctx, endpoint, timeoutMs, translator, caller, model, injectedUsage, targets.protocol, responseHeaders, op)
      if (signer && !endpoint.hasCredentials) {
        signAndSend(signer, call, endpoint, target, headers, body).catch((e) => failInternally(ctx, 'request signing', e))
        return
      }
      send(call, endpoint, head.method, target.path, headers, body)
    },
  }
}


function send(call: UpstreamCall, endpoint: CompiledEndpoint, method: string, path: string, headers: string[], body: Buffer | undefined): void {
  endpoint.stats.start()
  endpoint.pool!.dispatch({ origin: undefined as unknown as string, method: method as Dispatcher.HttpMethod, path, headers, body }, call)
}

async function signAndSend(signer: Signer, call: UpstreamCall, endpoint: CompiledEndpoint, target: UpstreamTarget, headers: string[], body: Buffer | undefined): Promise<void> {
  const h: Record<string, string> = {}
  for (let i = 0; i < headers.length; i += 2) h[headers[i]] = headers[i + 1]
  try {
    const signed = await signer.sign(endpoint.origin, 'POST', target.path, h, body)
    for (const [k, v] of Object.entries(signed)) headers.push(k, v)
  } catch (e) {
    return call.failBeforeSend(`cannot sign the request: ${(e as Error).message}`)
  }
  send(call, endpoint, 'POST', target.path, headers, body)
}

const CLIENT_CREDENTIALS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key']
function copyClientCredential(from: Record<string, string>, to: string[]): void {
  for (const name of CLIENT_CREDENTIALS) if (from[name] !== undefined) to.push(name, from[name])
}

type Controller = Dispatcher.DispatchController
type Mode = 'pass-json' | 'pass-sse' | 'pass-raw' | 'translate-json' | 'translate-sse' | 'translate-evs' | 'error-json' | 'error-pass' | 'hold'

/** One upstream exchange. A class, so the hot path allocates one object instead of closures. */
class UpstreamCall implements Dispatcher.DispatchHandler {
  private controller: Controller | undefined
  private timer: NodeJS.Timeout | undefined
  /** Time-to-first-byte limit, then (for streams) the idle limit between chunks. */
  private watchdog: NodeJS.Timeout | undefined
  /** Body bytes went to the client: from here on the answer cannot be retried or replaced. */
  private wrote = false
  private stalled = false
  private observed = false
  private readonly sentAt = performance.now()
  private mode: Mode = 'pass-raw'
  private parts: Buffer[] | undefined
  private timedOut = false
  private ended = false
  /** A held-back error answer is being delivered after all (no retry took it). */
  private replaying = false
  private status = 0
  private upstreamHeaders: Record<string, string | string[] | undefined> | undefined
  private tap: SseUsageTap | undefined
  private sse: SseParser | undefined
  private evs: EventStreamDecoder | undefined
  private st: StreamTranslator<any> | undefined

  constructor(
    private readonly ctx: RequestContext,
    private readonly endpoint: CompiledEndpoint,
    timeoutMs: number,
    private readonly translator: ProtocolTranslator | undefined,
    private readonly caller: CallerProtocol,
    private readonly model: string,
    private readonly injectedUsage: boolean,
    private readonly upstreamProtocol: UpstreamProtocol,
    private readonly responseHeaders: ResponseHeaderPolicy,
    private readonly op: Operation,
  ) {
    if (timeoutMs > 0) this.timer = setTimeout(this.onTimeout, timeoutMs)
    const route = ctx.route!
    const cluster = ctx.cluster!
    const ttft = route.firstTokenTimeoutMs ?? cluster.firstTokenTimeoutMs
    this.idleMs = route.idleTimeoutMs ?? cluster.idleTimeoutMs
    if (ttft > 0) this.watchdog = setTimeout(this.onStall, ttft)
    ctx.downstream.onAbort(this.onClientAbort)
  }

  private readonly idleMs: number

  private readonly onStall = () => {
    this.timedOut = true
    this.stalled = true
    this.controller?.abort(new Error('upstream stalled'))
  }

  /** Every body chunk: the first-byte limit is met; the idle limit starts or restarts. */
  private progress(): void {
    if (this.idleMs > 0) {
      if (this.watchdog) this.watchdog.refresh()
      else this.watchdog = setTimeout(this.onStall, this.idleMs)
    } else if (this.watchdog) {
      clearTimeout(this.watchdog)
      this.watchdog = undefined
    }
  }

  private readonly onTimeout = () => {
    this.timedOut = true
    this.controller?.abort(new Error('route timeout'))
  }

  private readonly onClientAbort = () => {
    // Tokens cost money: stop the upstream as soon as nobody is listening.
    this.controller?.abort(new Error('client aborted'))
    this.finish()
    complete(this.ctx)
  }

  private readonly onWritable = () => this.controller?.resume()

  failBeforeSend(message: string): void {
    this.ended = true
    if (this.timer) clearTimeout(this.timer)
    if (this.watchdog) clearTimeout(this.watchdog)
    sendError(this.ctx, 'SY_UPSTREAM_CONNECT', message)
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller
    if (this.ctx.downstream.aborted) controller.abort(new Error('client aborted'))
  }

  /** Feeds the cluster's outlier detection, breakers and latency estimates, once per attempt. */
  private observe(outcome: Outcome): void {
    if (this.observed) return
    this.observed = true
    this.ctx.cluster?.guard?.record(this.endpoint, outcome)
  }

  // undici calls these four; each runs inside the request's error boundary (see crashed()).
  onResponseStart(controller: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    try {
      this.responseStart(controller, statusCode, headers)
    } catch (e) {
      this.crashed(e)
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    try {
      this.responseData(controller, chunk)
    } catch (e) {
      this.crashed(e)
    }
  }

  onResponseEnd(): void {
    try {
      this.responseEnd()
    } catch (e) {
      this.crashed(e)
    }
  }

  onResponseError(controller: Controller, err: Error): void {
    try {
      this.responseError(controller, err)
    } catch (e) {
      this.crashed(e)
    }
  }

  /** A bug or hostile input threw inside this exchange: stop the upstream, fail only this request. */
  private crashed(e: unknown): void {
    const wasEnded = this.ended
    this.finish()
    if (!wasEnded) this.controller?.abort(new Error('gateway error'))
    failInternally(this.ctx, 'upstream exchange', e)
  }

  /** Buffers a body that must be read whole; past `limit` the answer is refused (502). */
  private collect(controller: Controller, chunk: Buffer, limit: number): void {
    this.collected += chunk.length
    if (this.collected > limit) {
      controller.abort(new RefusedAnswer('SY_TOO_LARGE', `upstream answer exceeds ${limit} bytes`))
      return
    }
    this.parts!.push(chunk)
  }

  private collected = 0

  /** A mode whose body is read whole before anything is sent (collect() caps it). */
  private holdWhole(mode: Mode, headers: Record<string, string | string[] | undefined>): void {
    this.mode = mode
    this.upstreamHeaders = headers
    this.parts = []
    this.collected = 0
  }

  private responseStart(controller: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode
    const latencyMs = performance.now() - this.sentAt
    if (!this.replaying) {
      this.endpoint.stats.observeLatency(latencyMs)
      const loadHeader = this.ctx.cluster?.loadHeader
      if (loadHeader !== undefined) {
        const load = loadFromHeader(headers[loadHeader])
        if (load !== undefined) this.endpoint.stats.reportLoad(load)
      }
    }
    if (!this.observed && this.ctx.cluster?.guard !== undefined) {
      const ra = headers['retry-after']
      if (statusCode === 429) this.observe({ kind: 'rate_limited', ...(typeof ra === 'string' && { retryAfter: ra }) })
      else if (statusCode >= 500) this.observe({ kind: 'http5xx', latencyMs })
      // A stream is judged at its end (a reset, stall or bad event is a failure); its latency is now.
      else if (statusCode < 300 && (isStreamType(headers['content-type']) || isJsonType(headers['content-type']))) this.streamLatencyMs = latencyMs
      else this.observe({ kind: 'success', latencyMs })
    }
    if (statusCode >= 400 && !this.replaying && this.ctx.attempt?.wantsStatus(statusCode)) {
      // Keep the answer back: the route may retry or fail over, and the client must see nothing yet.
      this.holdWhole('hold', headers)
      return
    }
    void controller
    const continuing = this.ctx.attempt?.continuation
    if (continuing !== undefined && !(statusCode >= 200 && statusCode < 300)) {
      // The client's stream is already open: a refusal here is a mid-stream failure.
      this.mode = 'pass-sse'
      this.wrote = true
      controller.abort(new RefusedAnswer('SY_CONTINUATION'))
      return
    }
    const ctype = headers['content-type']
    const type = typeof ctype === 'string' ? ctype : ''
    if (statusCode >= 500) this.endpoint.stats.fail()
    const ok = statusCode >= 200 && statusCode < 300
    if (this.translator) {
      if (!ok) {
        this.holdWhole('error-json', headers)
        return
      }
      if (type.startsWith('application/vnd.amazon.eventstream')) {
        this.mode = 'translate-evs'
        this.evs = createEventStreamDecoder()
      } else if (type.startsWith('text/event-stream')) {
        this.mode = 'translate-sse'
        this.sse = createSseParser()
      } else {
        this.holdWhole('translate-json', headers)
        return
      }
      // Usage the gateway asked for on an earlier pass-through attempt (ctx.json keeps it) is not the client's.
      this.st = this.translator.stream({ model: this.model, includeUsage: this.caller === 'openai' && this.ctx.json?.stream_options?.include_usage === true && !this.ctx.usageInjected, request: this.ctx.json })
      if (continuing === undefined) startResponse(this.ctx, 200, [['content-type', 'text/event-stream'], ['cache-control', 'no-cache']])
      else this.wrote = true
      return
    }
    if (!ok && continuing === undefined) {
      // Error answers are small: held whole so that secrets echoed back can be scrubbed.
      this.holdWhole('error-pass', headers)
      return
    }
    if (type.startsWith('text/event-stream')) {
      this.mode = 'pass-sse'
      // Known APIs are judged by their own completion rule; any other path by its transport only.
      const op = this.op
      if (ok && (op === 'chat' || op === 'messages' || op === 'responses')) {
        this.tap = new SseUsageTap(op === 'responses' ? 'responses' : this.caller === 'anthropic' ? 'anthropic' : 'openai', this.injectedUsage, choicesOf(this.ctx.json), this.ctx.json?.stream_options?.include_usage === true)
      }
    } else {
      const len = Number(headers['content-length'])
      // An API the gateway knows answers JSON: anything else (an HTML error page with a 200) is checked too, and fails.
      const json = type.includes('json') || Object.hasOwn(SUCCESS_KEYS, this.op)
      // A JSON answer is held whole and checked before anything is sent (one without a length too,
      // up to the limit); other bodies are held only when their known length allows.
      if (continuing === undefined && ((json && !(len > BUFFER_LIMIT)) || (len >= 0 && len <= BUFFER_LIMIT))) {
        this.holdWhole('pass-json', headers)
        this.vouchFor = json ? SUCCESS_KEYS[this.op] ?? ANY_JSON : NOT_CHECKED
        return
      }
      this.mode = 'pass-raw'
    }
    if (continuing === undefined) startResponse(this.ctx, statusCode, forwardedResponseHeaders(headers, this.responseHeaders))
    else this.wrote = true
  }

  /**
   * What a held JSON answer must contain to be forwarded as a success: NOT_CHECKED (not JSON),
   * ANY_JSON (a complete document), or the key of the operation's success object.
   */
  private vouchFor: Buffer | typeof NOT_CHECKED | typeof ANY_JSON = NOT_CHECKED

  /** A held body that outgrew BUFFER_LIMIT (no content-length): sent as it comes, unchecked. */
  private spill(controller: Controller): void {
    this.mode = 'pass-raw'
    startResponse(this.ctx, this.status, forwardedResponseHeaders(this.upstreamHeaders!, this.responseHeaders))
    const parts = this.parts!
    this.parts = undefined
    for (const p of parts) this.write(controller, p)
  }

  private responseData(controller: Controller, chunk: Buffer): void {
    if (this.watchdog !== undefined || this.idleMs > 0) this.progress()
    switch (this.mode) {
      case 'pass-json':
        this.collected += chunk.length
        this.parts!.push(chunk)
        if (this.collected > BUFFER_LIMIT) this.spill(controller)
        return
      case 'translate-json':
        this.collect(controller, chunk, TRANSLATED_BODY_LIMIT)
        return
      case 'hold':
      case 'error-json':
      case 'error-pass':
        this.collect(controller, chunk, ERROR_BODY_LIMIT)
        return
      case 'pass-sse': {
        const tap = this.tap
        const out = tap ? tap.push(chunk) : chunk
        if (out !== undefined) {
          // The opening alone (role chunk / message_start) waits for real output: an upstream that
          // dies right after it has still sent the client nothing, and can be retried invisibly.
          if (!this.wrote && tap !== undefined && tap.openingOnly(out)) this.holdOpening(out)
          else {
            this.releaseOpening()
            this.write(controller, out)
          }
        }
        if (tap?.malformed !== undefined) {
          // The events before it are forwarded; the unreadable one is an upstream failure (retried
          // when nothing reached the client yet, else an error event ends the stream).
          controller.abort(new RefusedAnswer('SY_MALFORMED', `event data is not JSON: ${tap.malformed}`))
        }
        return
      }
      case 'pass-raw':
        this.write(controller, chunk)
        return
      case 'translate-sse': {
        let text = ''
        for (const ev of this.sse!.push(chunk)) text += this.st!.push(ev)
        if (this.sse!.pendingChars > STREAM_EVENT_LIMIT) {
          controller.abort(new RefusedAnswer('SY_TOO_LARGE', `an upstream event exceeds ${STREAM_EVENT_LIMIT} bytes`))
          return
        }
        if (this.failedEarly(controller)) return
        this.writeTranslated(controller, text)
        return
      }
      case 'translate-evs': {
        let text = ''
        try {
          for (const m of this.evs!.push(chunk)) text += this.st!.push(m)
        } catch (e) {
          controller.abort(e as Error)
          return
        }
        if (this.failedEarly(controller)) return
        this.writeTranslated(controller, text)
        return
      }
    }
  }

  /**
   * A translated stream that failed (unreadable event, upstream error event) before the client got
   * anything is an upstream failure like any other: retried or failed over, else a plain error
   * answer — not a 200 stream holding only an error event.
   */
  private failedEarly(controller: Controller): boolean {
    const f = this.wrote ? undefined : this.st!.failure()
    if (f === undefined) return false
    controller.abort(new RefusedAnswer('SY_MALFORMED', f.message))
    return true
  }

  /** Output held back while it is only the stream's opening (see holdOpening). */
  private opening: Buffer | undefined

  /**
   * The opening alone (OpenAI role chunk, Anthropic message_start) is held until real output
   * follows, so a stream that fails right after it still counts as failing before the first byte
   * and can be retried or failed over invisibly.
   */
  private writeTranslated(controller: Controller, text: string): void {
    if (!this.wrote && !this.st!.substantive()) {
      if (text !== '') this.holdOpening(Buffer.from(text))
      return
    }
    this.releaseOpening()
    if (text !== '') this.write(controller, Buffer.from(text))
  }

  private openingTimer: NodeJS.Timeout | undefined

  /**
   * Holds the opening for at most OPENING_HOLD_MS: a model that thinks for a long time before its
   * first token must not leave the client without even response headers.
   */
  private holdOpening(opening: Buffer): void {
    this.opening = this.opening === undefined ? opening : Buffer.concat([this.opening, opening])
    this.openingTimer ??= setTimeout(this.releaseOpening, OPENING_HOLD_MS)
  }

  /** The held opening, no longer held (the caller sends it or drops it). */
  private takeOpening(): Buffer | undefined {
    if (this.openingTimer !== undefined) {
      clearTimeout(this.openingTimer)
      this.openingTimer = undefined
    }
    const held = this.opening
    this.opening = undefined
    return held
  }

  private readonly releaseOpening = (): void => {
    const held = this.takeOpening()
    if (held === undefined || this.ended) return
    try {
      this.write(this.controller!, held)
    } catch (e) {
      this.crashed(e) // runs from a timer: outside undici's callbacks
    }
  }

  private write(controller: Controller, chunk: Buffer): void {
    this.wrote = true
    const attempt = this.ctx.attempt
    if (attempt !== undefined) {
      const cont = attempt.continuation
      if (cont !== undefined) {
        chunk = cont.push(chunk)
        if (cont.refused) {
          controller.abort(new RefusedAnswer('SY_RESTARTED'))
          return
        }
      }
      attempt.recorder?.push(chunk)
      if (chunk.length === 0) return
    }
    // Writes are batched until the current tick ends: a body that arrives whole (one socket read
    // carries data and end) leaves in one end() with a Content-Length, and a real stream loses
    // nothing — the microtask runs before any I/O.
    if (this.pending === undefined) {
      this.pending = [chunk]
      this.pendingController = controller
      queueMicrotask(this.flushPending)
    } else this.pending.push(chunk)
  }

  private pending: Buffer[] | undefined
  private pendingController: Controller | undefined

  private readonly flushPending = () => {
    const parts = this.pending
    if (parts === undefined) return
    this.pending = undefined
    if (this.ctx.finished) return
    const chunk = parts.length === 1 ? parts[0] : Buffer.concat(parts)
    try {
      if (!sendChunk(this.ctx, chunk)) {
        this.pendingController!.pause()
        this.ctx.downstream.onWritable(this.onWritable)
      }
    } catch (e) {
      this.crashed(e) // a microtask: outside undici's callbacks
    }
  }

  /** Ends the response with whatever is still batched plus `last`, in one write. */
  /** Time to headers of a 2xx stream whose verdict waits for its end. */
  private streamLatencyMs: number | undefined

  private streamSucceeded(): void {
    if (this.streamLatencyMs !== undefined) this.observe({ kind: 'success', latencyMs: this.streamLatencyMs })
  }

  private finishWith(last?: Buffer | string): void {
    const parts = this.pending
    this.pending = undefined
    if (parts === undefined) return finishResponse(this.ctx, last)
    if (last !== undefined) parts.push(typeof last === 'string' ? Buffer.from(last) : last)
    const body = parts.length === 1 ? parts[0] : Buffer.concat(parts)
    const hooks = this.ctx.chain.onChunk
    for (let i = 0; i < hooks.length; i++) hooks[i].onChunk!(this.ctx, body)
    finishResponse(this.ctx, body)
  }

  private responseEnd(): void {
    const ctx = this.ctx
    switch (this.mode) {
      case 'hold': {
        const parts = this.parts!
        const body = Buffer.concat(parts)
        let parsed: unknown = body.toString('utf8')
        try {
          parsed = JSON.parse(parsed as string)
        } catch {}
        const kind = parseUpstreamError(this.upstreamProtocol, this.status, parsed, this.upstreamHeaders).kind
        const ra = this.upstreamHeaders!['retry-after']
        this.finish()
        if (ctx.attempt!.takeOver({ kind: 'status', status: this.status, ...(typeof ra === 'string' && { retryAfter: ra }), contextLength: kind === 'context_length' })) return
        // Not retried: answer it as if it had never been held.
        this.ended = false
        this.endpoint.stats.start()
        this.mode = 'pass-raw'
        this.replaying = true
        const controller = this.controller!
        this.responseStart(controller, this.status, this.upstreamHeaders!)
        this.responseData(controller, body)
        this.responseEnd()
        return
      }
      case 'pass-json': {
        const body = this.parts!.length === 1 ? this.parts![0] : Buffer.concat(this.parts!)
        const expect = this.vouchFor
        if (expect !== NOT_CHECKED && !(isJsonDocument(body) && (expect === ANY_JSON || body.indexOf(expect) !== -1))) {
          // A 200 the gateway cannot vouch for is a failure like a reset: retried or failed over
          // before anything is sent, else a 502 — never passed on as a success.
          return this.responseError(this.controller!, new RefusedAnswer('SY_MALFORMED', `the upstream answered ${this.status} with a body that is not a complete JSON ${expect === ANY_JSON ? 'document' : `response (no ${expect.toString()})`}`))
        }
        // A Responses object counts input_tokens / output_tokens; a stored one read back costs nothing.
        const op = this.op
        if (this.status < 300 && op !== 'stored_response' && (this.upstreamProtocol === 'openai' || this.upstreamProtocol === 'anthropic')) {
          ctx.usage = usageFromJsonBody(body, op === 'responses' ? 'responses' : this.upstreamProtocol)
        }
        this.streamSucceeded()
        startResponse(ctx, this.status, forwardedResponseHeaders(this.upstreamHeaders!, this.responseHeaders))
        const hooks = ctx.chain.onChunk
        for (let i = 0; i < hooks.length; i++) hooks[i].onChunk!(ctx, body)
        finishResponse(ctx, body)
        break
      }
      case 'pass-sse': {
        const tap = this.tap
        let terminator: Buffer | undefined
        if (tap && !tap.complete) {
          // Several OpenAI-compatible servers close without `[DONE]` after a complete answer: every
          // choice finished (and the usage chunk, when asked for, arrived). The gateway ends it.
          if (tap.finishedWithoutMarker()) terminator = OPENAI_DONE
          // A clean close before that is a broken answer, not a success.
          else return this.responseError(this.controller!, new RefusedAnswer('SY_TRUNCATED', 'stream ended before its end marker'))
        }
        const flushed = tap?.flush()
        const held = this.takeOpening()
        let rest = held === undefined ? flushed : flushed === undefined ? held : Buffer.concat([held, flushed])
        if (terminator !== undefined) rest = rest === undefined ? terminator : Buffer.concat([rest, terminator])
        if (tap) ctx.usage = tap.usage
        this.streamSucceeded()
        this.finishWith(rest)
        break
      }
      case 'pass-raw':
        this.finishWith()
        break
      case 'translate-json': {
        const raw = Buffer.concat(this.parts!)
        const text = raw.toString('utf8')
        let out: unknown
        try {
          const parsed = JSON.parse(text)
          // A 200 error object translates into an empty "success": refuse it like a broken body.
          if (!hasUpstreamSuccessShape(parsed, this.upstreamProtocol)) throw new Error('not a success object')
          out = this.translator!.response(parsed, { model: this.model, request: ctx.json })
        } catch {
          // Like a reset: retried or failed over before anything is sent, else a 502. (No parser
          // message: it quotes the body, which may echo a credential.)
          return this.responseError(this.controller!, new RefusedAnswer('SY_MALFORMED', `the upstream answered ${this.status} with a body that is not a readable ${this.upstreamProtocol} response`))
        }
        ctx.usage = usageOfCallerBody(out, this.caller)
        startResponse(ctx, 200, [['content-type', 'application/json']])
        const body = Buffer.from(JSON.stringify(out))
        const hooks = ctx.chain.onChunk
        for (let i = 0; i < hooks.length; i++) hooks[i].onChunk!(ctx, body)
        finishResponse(ctx, body)
        break
      }
      case 'translate-sse':
      case 'translate-evs': {
        let text = this.takeOpening()?.toString('utf8') ?? ''
        if (this.sse) for (const ev of this.sse.end()) text += this.st!.push(ev)
        text += this.st!.end()
        const failure = this.wrote ? undefined : this.st!.failure()
        if (failure !== undefined) {
          // Ended (or errored) before the client saw anything: retry / fail over as for a reset.
          return this.responseError(this.controller!, new RefusedAnswer('SY_TRUNCATED', failure.message))
        }
        const cont = ctx.attempt?.continuation
        if (cont !== undefined && text !== '') {
          // The closing chunks belong to the continuation too: the original id, and the restart check.
          const out = cont.push(Buffer.from(text))
          if (cont.refused) return this.responseError(this.controller!, new RefusedAnswer('SY_RESTARTED'))
          text = out.toString('utf8')
        }
        ctx.usage = this.st!.usage()
        if (this.st!.failure() === undefined) this.streamSucceeded()
        else if (!this.observed) this.observe({ kind: 'gateway_error' })
        this.finishWith(text === '' ? undefined : text)
        break
      }
      case 'error-json': {
        const raw = Buffer.concat(this.parts!).toString('utf8')
        let parsed: unknown = raw
        try {
          parsed = JSON.parse(raw)
        } catch {}
        const ce = this.translator!.error(this.status, parsed, this.upstreamHeaders)
        const scrub = ctx.snapshot.scrub
        const headers: [string, string][] = [['content-type', 'application/json']]
        for (const [k, v] of Object.entries(ce.headers)) headers.push([k, scrub.text(v)])
        sendReply(ctx, { status: ce.status, headers, body: Buffer.from(scrub.text(JSON.stringify(ce.body))) })
        break
      }
      case 'error-pass': {
        // Same protocol: the provider's own error, minus any secret it echoed and foreign headers.
        const scrub = ctx.snapshot.scrub
        const headers = forwardedResponseHeaders(this.upstreamHeaders!, this.responseHeaders)
        if (scrub.active) for (const h of headers) h[1] = scrub.text(h[1])
        const body = scrub.bytes(this.parts!.length === 1 ? this.parts![0] : Buffer.concat(this.parts!))
        startResponse(ctx, this.status, headers)
        const hooks = ctx.chain.onChunk
        for (let i = 0; i < hooks.length; i++) hooks[i].onChunk!(ctx, body)
        finishResponse(ctx, body)
        break
      }
    }
    this.finish()
  }

  private responseError(_controller: Controller, err: Error): void {
    const wasEnded = this.ended
    this.finish()
    if (wasEnded || this.ctx.finished) return
    // What the client was promised goes out before any error event or continuation.
    this.flushPending()
    this.endpoint.stats.fail()
    if (!this.ctx.downstream.aborted) this.observe({ kind: 'gateway_error' })
    else if (this.streamLatencyMs !== undefined) this.streamSucceeded() // it was streaming fine until the client left
    else if (!this.observed) this.ctx.cluster?.guard?.abandon(this.endpoint)
    if (!this.wrote && !this.ctx.downstream.aborted && this.ctx.attempt?.takeOver({ kind: this.timedOut ? 'timeout' : failureKind(err) })) return
    const code = this.timedOut || (err as { code?: string }).code === 'UND_ERR_CONNECT_TIMEOUT' ? 'SY_UPSTREAM_TIMEOUT' : 'SY_UPSTREAM_CONNECT'
    const message = this.stalled
      ? 'upstream stalled (first-token or idle timeout)'
      : this.timedOut ? 'upstream did not answer within the route timeout' : `cluster '${this.ctx.cluster?.name}' failed: ${describe(err)}`
    // The endpoint and the raw error code are for operators only (clients see the cluster name).
    log('debug', 'upstream attempt failed', { id: this.ctx.id, cluster: this.ctx.cluster?.name, endpoint: this.endpoint.url, error: (err as { code?: string }).code ?? err.message })
    const streaming = this.mode === 'pass-sse' || this.mode === 'translate-sse' || this.mode === 'translate-evs'
    // Nothing on the wire yet: the status can still change.
    if (!this.wrote) return sendError(this.ctx, code, message)
    // Headers already went out; a truncated JSON body must not look complete, a stream gets an error event.
    // A continuation that restarted the answer ends the stream: never a third answer spliced in.
    const restartedAnswer = isRefusedAnswer(err) && err.code === 'SY_RESTARTED'
    if (streaming && !restartedAnswer && this.ctx.attempt?.recorder !== undefined && this.ctx.attempt.continueStream({ kind: this.timedOut ? 'timeout' : failureKind(err) })) return
    if (streaming) return failStream(this.ctx, code, message)
    this.ctx.downstream.close()
    complete(this.ctx)
  }

  private finish(): void {
    if (this.ended) return
    this.ended = true
    if (this.timer) clearTimeout(this.timer)
    if (this.watchdog) clearTimeout(this.watchdog)
    this.takeOpening()
    this.endpoint.stats.finish()
  }
}

const USAGE_OPTION = Buffer.from('"stream_options":{"include_usage":true},')
/** How long a stream's opening alone may be held back waiting for real output. */
const OPENING_HOLD_MS = 1000

/** Inserts the option after the body's opening brace: no re-serialization of a long chat history. */
function withUsageOption(body: Buffer): Buffer {
  let i = 0
  while (i < body.length && body[i] !== 0x7b) i++
  let j = i + 1
  while (j < body.length && (body[j] === 0x20 || body[j] === 0x0a || body[j] === 0x0d || body[j] === 0x09)) j++
  if (i >= body.length || body[j] === 0x7d) return Buffer.from(JSON.stringify({ ...JSON.parse(body.toString()), stream_options: { include_usage: true } }))
  return Buffer.concat([body.subarray(0, i + 1), USAGE_OPTION, body.subarray(i + 1)])
}

/** Usage of a translated body, read in the caller's vocabulary. */
function usageOfCallerBody(body: any, caller: CallerProtocol) {
  if (!body?.usage) return undefined
  return caller === 'openai' ? usageFromOpenAI(body.usage) : caller === 'responses' ? usageFromResponses(body.usage) : usageFromAnthropic(body.usage)
}

function failureKind(err: Error): 'connect_failure' | 'reset' | 'timeout' {
  const code = (err as { code?: string }).code
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') return 'timeout'
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNABORTED') return 'connect_failure'
  return 'reset'
}

/** A client-safe account of a transport failure: no URL, no library error code. */
function describe(err: Error): string {
  const code = (err as { code?: string }).code
  if (isRefusedAnswer(err)) return err.message
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
}

function isJsonType(ctype: string | string[] | undefined): boolean {
  return typeof ctype === 'string' && ctype.includes('json')
}

const OPENAI_DONE = Buffer.from('data: [DONE]\n\n')
const NOT_CHECKED = 0
const ANY_JSON = 1
/** The key every success object of an operation has; other paths only need a complete document. */
const SUCCESS_KEYS: Record<string, Buffer> = {
  chat: Buffer.from('"choices"'), messages: Buffer.from('"content"'), responses: Buffer.from('"output"'), embeddings: Buffer.from('"data"'), count_tokens: Buffer.from('"input_tokens"'),
}
/** What each upstream protocol's whole success answer holds at its top level. */
const UPSTREAM_SUCCESS_KEYS: Record<UpstreamProtocol, string> = { openai: 'choices', anthropic: 'content', gemini: 'candidates', bedrock: 'output' }
function hasUpstreamSuccessShape(body: unknown, protocol: UpstreamProtocol): boolean {
  if (typeof body !== 'object' || body === null) return false
  const v = (body as Record<string, unknown>)[UPSTREAM_SUCCESS_KEYS[protocol]]
  if (protocol === 'bedrock') return typeof v === 'object' && v !== null
  // Gemini answers a blocked prompt with promptFeedback and no candidates: a real (filtered) answer.
  if (protocol === 'gemini' && v === undefined) return typeof (body as { promptFeedback?: unknown }).promptFeedback === 'object'
  return Array.isArray(v)
}


/** Choices a chat request asks for (`n`, default 1): a stream is complete when each one finished. */
function choicesOf(json: any): number {
  const n = json?.n
  return typeof n === 'number' && n >= 1 && n <= 128 ? Math.floor(n) : 1
}

function isStreamType(ctype: string | string[] | undefined): boolean {
  return typeof ctype === 'string' && (ctype.startsWith('text/event-stream') || ctype.startsWith('application/vnd.amazon.eventstream'))
}
