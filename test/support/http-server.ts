/**
 * A node:http server on 127.0.0.1, port 0 (the OS picks a free one): the one way the suites start
 * their local upstreams, provider mocks and pages. close() drops open keep-alive connections first,
 * so teardown never waits for a client's idle socket.
 *
 * @example
 * const up = await startHttpServer((req, res) => receive(req, (r) => res.end(r.body)))
 * t.after(() => up.close())
 * await fetch(`${up.origin}/echo`, { method: 'POST', body: 'hi' })
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface LocalHttpServer {
  readonly server: Server
  readonly port: number
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  close(): Promise<void>
}

export interface HttpServerOptions {
  /** node's server.keepAliveTimeout (default 5 s): how long an idle client connection stays open. */
  readonly keepAliveTimeoutMs?: number
}

export async function startHttpServer(handler: RequestListener, opts: HttpServerOptions = {}): Promise<LocalHttpServer> {
  const server = createServer(handler)
  if (opts.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = opts.keepAliveTimeoutMs
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A request as the recording servers keep it: its head and its whole body. */
export interface ReceivedRequest {
  readonly method: string
  /** Path and query, as received. */
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

/** Reads the whole request body, then calls `done` (on the request's 'end', synchronously). */
export function receive(req: IncomingMessage, done: (request: ReceivedRequest) => void): void {
  const parts: Buffer[] = []
  req.on('data', (c: Buffer) => parts.push(c))
  req.on('end', () => done({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(parts) }))
}
