/**
 * A kserve_grpc endpoint's connection pool: a few gRPC channels (each one HTTP/2 connection with
 * keepalive, calls spread over them round robin) behind undici's Dispatcher interface, so the
 * endpoint plugs into everything an HTTP endpoint does. forward.ts sends it the request as an
 * OpenAI chat completion and upstream-call.ts receives, through undici's handler hooks, the answer
 * as an OpenAI-format upstream would send it: the retry, fallback, breaker, outlier, translation
 * (Anthropic callers), backpressure and abort paths are the HTTP ones, unchanged.
 *
 * Per request (GrpcExchange): the body becomes a ModelInferRequest; `ModelInfer` answers a
 * non-streamed request (or `ModelStreamInfer` when the model is decoupled), `ModelStreamInfer` a
 * streamed one; the route's timeout is the call's deadline; the controller's abort cancels the
 * call, pause/resume stop and restart reading its stream.
 */
import type { Dispatcher } from 'undici'
import type * as Grpc from '@grpc/grpc-js'
import type { ClusterIR, KserveIR } from '../../../compiler/ir.js'
import { openAIErrorBody } from '../../errors.js'
import { grpcTarget, loadGrpc, type InferenceClient } from './grpc-loader.js'
import { createInferRequestBuilder, type InferPlan, type InferRequestBuilder } from './infer-request.js'
import { ChunkWriter, UsageCount, chatCompletion, finishReason, readOutputs } from './infer-response.js'
import { classifyBeforeResponse, classifyMidStream, GrpcFailure, type HttpAnswer } from './grpc-status.js'

/** What forward.ts adds to undici's options for this dispatcher: the attempt's timeout, as the call's deadline. */
export interface GrpcDispatchOptions extends Dispatcher.DispatchOptions {
  readonly deadlineMs?: number
}

const JSON_HEADERS = { 'content-type': 'application/json' }
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }
const NO_TRAILERS = {}

/** The pool factory for one endpoint (stores.pools.acquire's `create`). */
export function grpcChannels(c: ClusterIR, k: KserveIR, origin: string): () => Dispatcher {
  return () => new GrpcChannels(c.name, k, origin) as unknown as Dispatcher
}

export class GrpcChannels {
  private readonly clients: InferenceClient[] = []
  private next = 0
  readonly builder: InferRequestBuilder
  readonly grpc: typeof Grpc
  closed = false

  constructor(readonly cluster: string, readonly k: KserveIR, origin: string) {
    const { grpc, Client } = loadGrpc()
    this.grpc = grpc
    this.builder = createInferRequestBuilder(k)
    const { address, tls } = grpcTarget(origin)
    const credentials = tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure()
    const options: Grpc.ChannelOptions = {
      // Each channel its own connection (grpc-js shares subchannels process-wide by default).
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': k.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': k.keepaliveTimeoutMs,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    }
    for (let i = 0; i < k.channels; i++) this.clients.push(new Client(address, credentials, options))
  }

  /** Round robin over the channels: each multiplexes its calls on one HTTP/2 connection. */
  client(): InferenceClient {
    const c = this.clients[this.next]
    this.next = (this.next + 1) % this.clients.length
    return c
  }

  dispatch(opts: GrpcDispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    new GrpcExchange(this, opts, handler).start()
    return true
  }

  close(): Promise<void> {
    this.closed = true
    for (const c of this.clients) c.close()
    return Promise.resolve()
  }

  destroy(): Promise<void> {
    return this.close()
  }
}

/** One request: its gRPC call, and undici's handler hooks fed from it. Also the handler's controller. */
class GrpcExchange implements Dispatcher.DispatchController {
  aborted = false
  paused = false
  reason: Error | null = null
  private done = false
  private call: Grpc.ClientUnaryCall | Grpc.ClientDuplexStream<object, any> | undefined
  private stream: Grpc.ClientDuplexStream<object, any> | undefined

  constructor(private readonly pool: GrpcChannels, private readonly opts: GrpcDispatchOptions, private readonly handler: Dispatcher.DispatchHandler) {}

  // ---- the controller (what upstream-call.ts calls) ----

  abort(reason: Error): void {
    if (this.done) return
    this.aborted = true
    this.reason = reason
    this.done = true
    // Tokens cost money: the backend stops generating when the call is cancelled.
    this.call?.cancel()
    this.handler.onResponseError?.(this, reason)
  }

  pause(): void {
    this.paused = true
    this.stream?.pause()
  }

  resume(): void {
    this.paused = false
    this.stream?.resume()
  }

  // ---- the call ----

  start(): void {
    this.handler.onRequestStart?.(this, {})
    if (this.done) return
    const { method, path } = this.opts
    if (this.pool.closed) return this.fail(new GrpcFailure('GRPC_UNAVAILABLE', 'gRPC channels closed'))
    if (method !== 'POST' || !path.split('?')[0].endsWith('/chat/completions')) {
      return this.answerError({ status: 404, type: 'invalid_request_error' }, `provider 'kserve_grpc' serves chat completions only (POST /v1/chat/completions, or /v1/messages through translation); got ${method} ${path.split('?')[0]}`)
    }
    let body: unknown
    try {
      body = JSON.parse(bodyText(this.opts.body))
    } catch {
      return this.answerError({ status: 400, type: 'invalid_request_error' }, 'the request body is not valid JSON')
    }
    const plan = this.pool.builder.build(body, headerOf(this.opts.headers, 'x-request-id') ?? '')
    if ('refused' in plan) return this.answerError({ status: 400, type: 'invalid_request_error' }, plan.refused)
    const metadata = new this.pool.grpc.Metadata()
    const auth = headerOf(this.opts.headers, 'authorization')
    if (auth !== undefined) metadata.set('authorization', auth)
    if (plan.request.id !== '') metadata.set('x-request-id', plan.request.id)
    const deadlineMs = this.opts.deadlineMs ?? 0
    const callOptions: Grpc.CallOptions = deadlineMs > 0 ? { deadline: Date.now() + deadlineMs } : {}
    const client = this.pool.client()
    if (plan.stream || this.pool.k.decoupled) this.streamCall(client, plan, metadata, callOptions)
    else this.unaryCall(client, plan, metadata, callOptions)
  }

  private unaryCall(client: InferenceClient, plan: InferPlan, metadata: Grpc.Metadata, options: Grpc.CallOptions): void {
    this.call = client.ModelInfer(plan.request, metadata, options, (err, res) => {
      if (this.done) return
      if (err) return this.failBeforeResponse(err)
      const out = readOutputs(res, this.pool.k.tensors)
      const usage = new UsageCount(true)
      usage.add(out)
      this.answer(200, JSON_HEADERS, chatCompletion(chatId(plan), plan.model, out.text, usage, plan.maxTokens))
    })
  }

  /** ModelStreamInfer: streamed to the client as SSE, or (a decoupled model, non-streamed request) joined into one answer. */
  private streamCall(client: InferenceClient, plan: InferPlan, metadata: Grpc.Metadata, options: Grpc.CallOptions): void {
    const k = this.pool.k
    const cumulative = k.streamOutput === 'cumulative'
    const usage = new UsageCount(cumulative)
    const writer = new ChunkWriter(chatId(plan), plan.model)
    let text = ''
    let started = false
    const call = (this.stream = client.ModelStreamInfer(metadata, options))
    this.call = call
    const finish = () => {
      if (this.done) return
      this.done = true
      if (!plan.stream) return this.answerNow(200, JSON_HEADERS, chatCompletion(chatId(plan), plan.model, text, usage, plan.maxTokens))
      if (!started) this.begin(200, SSE_HEADERS, writer.first(''))
      this.handler.onResponseData?.(this, writer.last(finishReason(usage, plan.maxTokens), usage.openai(), plan.includeUsage))
      this.handler.onResponseEnd?.(this, NO_TRAILERS)
    }
    call.on('data', (msg: { error_message?: string; infer_response?: unknown }) => {
      if (this.done) return
      if (msg.error_message) {
        call.cancel()
        if (!started) return this.answerError({ status: 500, type: 'server_error' }, `inference server: ${msg.error_message}`)
        return this.fail(new GrpcFailure('GRPC_STREAM_FAILED', 'gRPC stream failed'))
      }
      const out = readOutputs(msg.infer_response, k.tensors)
      usage.add(out)
      let piece = out.text
      if (cumulative) {
        piece = piece.startsWith(text) ? piece.slice(text.length) : piece
        text = out.text
      } else text += piece
      if (plan.stream && (piece !== '' || !started)) {
        if (!started) {
          started = true
          this.begin(200, SSE_HEADERS, writer.first(piece))
        } else this.handler.onResponseData?.(this, writer.text(piece))
      }
      if (out.final) finish()
    })
    call.on('end', finish)
    call.on('error', (err: Grpc.ServiceError) => {
      if (this.done) return
      if (!started) return this.failBeforeResponse(err)
      this.fail(classifyMidStream(err))
    })
    call.write(plan.request)
    // Half-close: one request per call, so the server ends the stream after its last response.
    call.end()
  }

  // ---- what the handler is told ----

  private failBeforeResponse(err: Grpc.ServiceError): void {
    const c = classifyBeforeResponse(err)
    if (c instanceof GrpcFailure) return this.fail(c)
    this.answerError(c, `inference server: ${err.details || 'request failed'}`)
  }

  private answerError(http: HttpAnswer, message: string): void {
    const headers: Record<string, string> = http.retryAfter === undefined ? JSON_HEADERS : { ...JSON_HEADERS, 'retry-after': http.retryAfter }
    this.answer(http.status, headers, Buffer.from(JSON.stringify(openAIErrorBody(message, http.type, null, null))))
  }

  private answer(status: number, headers: Record<string, string>, body: Buffer): void {
    if (this.done) return
    this.done = true
    this.answerNow(status, headers, body)
  }

  private answerNow(status: number, headers: Record<string, string>, body: Buffer): void {
    this.begin(status, headers, body)
    if (this.aborted) return
    this.handler.onResponseEnd?.(this, NO_TRAILERS)
  }

  private begin(status: number, headers: Record<string, string>, first: Buffer): void {
    this.handler.onResponseStart?.(this, status, headers, '')
    // The handler may have aborted (a refused answer, a client gone) while taking the head.
    if (this.aborted) return
    this.handler.onResponseData?.(this, first)
  }

  private fail(err: Error): void {
    if (this.done && this.aborted) return
    this.done = true
    this.handler.onResponseError?.(this, err)
  }
}

function chatId(plan: InferPlan): string {
  return `chatcmpl-${plan.request.id || Date.now().toString(36)}`
}

function bodyText(body: Dispatcher.DispatchOptions['body']): string {
  if (body === undefined || body === null) return ''
  if (typeof body === 'string') return body
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) return Buffer.from(body).toString('utf8')
  throw new Error('kserve_grpc: streaming request bodies are not supported')
}

/** A header from undici's flat [name, value, …] list (forward.ts's shape). */
function headerOf(headers: Dispatcher.DispatchOptions['headers'], name: string): string | undefined {
  if (!Array.isArray(headers)) return undefined
  for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1])
  return undefined
}
