/**
 * Sends one OTLP/HTTP export request (protobuf body) to the collector over a keep-alive connection and
 * says whether it was accepted. A total deadline (`timeout`) rather than a socket idle timeout: a
 * collector that trickles its answer is abandoned like one that never answers. At most two sockets:
 * the export in flight and one the queue gave up waiting for.
 *
 * node:http rather than the worker's undici pools: those belong to upstream endpoints and their
 * stores (limits, breakers, pool accounting); the collector is none of that.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

/**
 * The largest export request body the export thread builds. Collectors refuse large requests
 * (gRPC's default message size, which the OpenTelemetry Collector's OTLP receiver and many vendors'
 * intakes keep: 4 MiB); a batch of content-carrying spans passes that long before `max_size` spans.
 */
export const MAX_EXPORT_BYTES = 4 * 1024 * 1024

export class OtlpHttpSender {
  private readonly url: URL
  private readonly agent: HttpAgent
  private readonly request: typeof httpRequest
  private readonly headers: Record<string, string>

  constructor(endpoint: string, headers: Readonly<Record<string, string>>, private readonly timeoutMs: number) {
    this.url = new URL(endpoint)
    const https = this.url.protocol === 'https:'
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 2 }) : new HttpAgent({ keepAlive: true, maxSockets: 2 })
    this.request = https ? (httpsRequest as typeof httpRequest) : httpRequest
    this.headers = { ...headers, 'content-type': 'application/x-protobuf' }
  }

  /** POSTs `body`; `done(true)` for a 2xx answer, `done(false, why)` for anything else, once. */
  send(body: Buffer, done: (ok: boolean, error?: string) => void): void {
    let settled = false
    const settle = (ok: boolean, error?: string) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      done(ok, error)
    }
    // A kept-alive socket the collector closed while idle fails at once: sent again, once, on a new one.
    let req: ClientRequest
    const post = (again: boolean) => (req = this.post(body, settle, again ? () => post(false) : undefined))
    post(true)
    const deadline = setTimeout(() => {
      settle(false, `no answer within ${this.timeoutMs} ms`)
      req.destroy()
    }, this.timeoutMs)
    deadline.unref()
  }

  private post(body: Buffer, settle: (ok: boolean, error?: string) => void, retry: (() => void) | undefined): ClientRequest {
    const req = this.request(this.url, { method: 'POST', agent: this.agent, headers: { ...this.headers, 'content-length': String(body.length) } }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0
      res.resume()
      res.once('end', () => settle(status >= 200 && status < 300, `collector answered ${status}`))
      res.once('error', (e) => settle(false, e.message))
    })
    req.once('error', (e: NodeJS.ErrnoException) => {
      if (retry !== undefined && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) retry()
      else settle(false, e.message)
    })
    req.end(body)
    return req
  }

  close(): void {
    this.agent.destroy()
  }
}
