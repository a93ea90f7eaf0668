/**
 * `openai` provider: any OpenAI-compatible HTTP API. The request body is forwarded as received
 * (re-serialized only after a model rewrite); the response is streamed back as it arrives.
 * Uses undici's dispatch() with a handler object — no stream objects, no per-chunk promises.
 */
import type { Dispatcher } from 'undici'
import type { CompiledEndpoint, ProviderAdapter, RequestContext } from '../types.js'
import { complete, failStream, finishResponse, sendChunk, sendError, startResponse } from '../respond.js'
import { forwardedRequestHeaders, forwardedResponseHeaders } from '../upstream/headers.js'

/** Non-streamed bodies up to this size are sent in one write with a content-length. */
const BUFFER_LIMIT = 8 * 1024 * 1024

export function createOpenAIProvider(): ProviderAdapter {
  return {
    forward(ctx: RequestContext, endpoint: CompiledEndpoint, timeoutMs: number): void {
      const head = ctx.head
      const rest = head.path.startsWith('/v1/') || head.path === '/v1' ? head.path.slice(3) : head.path
      const path = endpoint.basePath + rest + (head.query === '' ? '' : '?' + head.query)
      const handler = new UpstreamCall(ctx, endpoint, timeoutMs)
      endpoint.stats.start()
      endpoint.pool!.dispatch(
        {
          origin: undefined as unknown as string,
          method: head.method as Dispatcher.HttpMethod,
          path,
          headers: forwardedRequestHeaders(ctx.headers, endpoint),
          body: ctx.body,
        },
        handler,
      )
    },
  }
}

type Controller = Dispatcher.DispatchController

/** One upstream exchange. A class, so the hot path allocates one object instead of closures. */
class UpstreamCall implements Dispatcher.DispatchHandler {
  private controller: Controller | undefined
  private timer: NodeJS.Timeout | undefined
  private started = false
  private streaming = false
  private parts: Buffer[] | undefined
  private timedOut = false
  private ended = false

  constructor(private readonly ctx: RequestContext, private readonly endpoint: CompiledEndpoint, timeoutMs: number) {
    if (timeoutMs > 0) this.timer = setTimeout(this.onTimeout, timeoutMs)
    ctx.downstream.onAbort(this.onClientAbort)
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

  onRequestStart(controller: Controller): void {
    this.controller = controller
    if (this.ctx.downstream.aborted) controller.abort(new Error('client aborted'))
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.started = true
    const ctype = headers['content-type']
    this.streaming = typeof ctype === 'string' && ctype.startsWith('text/event-stream')
    const len = Number(headers['content-length'])
    if (!this.streaming && len >= 0 && len <= BUFFER_LIMIT) this.parts = []
    if (statusCode >= 500) this.endpoint.stats.fail()
    startResponse(this.ctx, statusCode, forwardedResponseHeaders(headers))
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.parts) {
      this.parts.push(chunk)
      return
    }
    if (!sendChunk(this.ctx, chunk)) {
      controller.pause()
      this.ctx.downstream.onWritable(this.onWritable)
    }
  }

  onResponseEnd(): void {
    if (this.parts) {
      const body = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts)
      const hooks = this.ctx.chain.onChunk
      for (let i = 0; i < hooks.length; i++) hooks[i].onChunk!(this.ctx, body)
      finishResponse(this.ctx, body)
    } else finishResponse(this.ctx)
    this.finish()
  }

  onResponseError(_controller: Controller, err: Error): void {
    const wasEnded = this.ended
    this.finish()
    if (wasEnded || this.ctx.finished) return
    this.endpoint.stats.fail()
    const code = this.timedOut || (err as { code?: string }).code === 'UND_ERR_CONNECT_TIMEOUT' ? 'SY_UPSTREAM_TIMEOUT' : 'SY_UPSTREAM_CONNECT'
    const message = this.timedOut
      ? 'upstream did not answer within the route timeout'
      : `upstream ${this.endpoint.url} failed: ${describe(err)}`
    if (!this.started) return sendError(this.ctx, code, message)
    // Headers already went out; a truncated JSON body must not look complete, a stream gets an error event.
    if (this.streaming) return failStream(this.ctx, code, message)
    this.ctx.downstream.close()
    complete(this.ctx)
  }

  private finish(): void {
    if (this.ended) return
    this.ended = true
    if (this.timer) clearTimeout(this.timer)
    this.endpoint.stats.finish()
  }
}

function describe(err: Error): string {
  const code = (err as { code?: string }).code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') return 'connection reset'
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect timeout'
  return code ?? err.message
}
