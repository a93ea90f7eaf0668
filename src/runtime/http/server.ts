/**
 * The listening side of one worker: one uWS app per configured port, reconciled against each new
 * snapshot (ports opened and closed without a restart). The handler reads everything it needs from
 * uWS synchronously, registers onAborted first, refuses ambiguous framing, collects the body
 * (size-capped), then dispatches on the snapshot captured at arrival once uWS has parsed the rest
 * of the read (http/after-read.ts). What uWS answers or drops before the handler runs is in
 * docs/security.md ("HTTP framing").
 */
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js'
import type { Gateway } from '../gateway.js'
import type { CompiledListener, LocalReply, Snapshot } from '../types.js'
import { headersOf, requestLineOf, statusLine, uws } from '../../shared/uws.js'
import { UwsDownstream } from './downstream.js'
import { dispatch, refusedRequestId, type IncomingRequest } from './dispatch.js'
import { errorReply } from '../errors.js'
import { log } from '../../shared/log.js'
import { afterRead } from './after-read.js'
import { framingError } from './request-framing.js'

type Failed = { port: number; error: string }

interface OpenListener {
  readonly app: TemplatedApp
  socket: us_listen_socket | undefined
  readonly address: string
  readonly port: number
}

const NO_BODY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE'])
const LISTENER_GONE = errorReply('openai', 'SY_SHUTTING_DOWN', 'listener is being removed')

export class ListenerSet {
  private readonly open = new Map<number, OpenListener>()
  /** Every app ever opened: a removed port's app still serves its keep-alive connections. */
  private readonly apps = new Set<TemplatedApp>()
  draining = false

  constructor(private readonly gateway: Gateway) {}

  /**
   * Opens ports new in `snap`, closes ports it no longer has. Returns ports that failed to open —
   * at once with the native addon, as a promise on uWS's JavaScript fallback (it listens later).
   */
  reconcile(snap: Snapshot): Failed[] | Promise<Failed[]> {
    const failed: Failed[] = []
    const later: Promise<void>[] = []
    for (const [port, o] of this.open) {
      const l = snap.listeners.get(port)
      if (!l || l.address !== o.address) this.closePort(port)
    }
    for (const l of snap.listeners.values()) {
      if (this.open.has(l.port)) continue
      const err = this.openPort(l)
      if (typeof err === 'string') failed.push({ port: l.port, error: err })
      else if (err !== undefined) later.push(err.then((e) => { if (e) failed.push({ port: l.port, error: e }) }))
    }
    if (later.length) return Promise.all(later).then(() => failed)
    return failed
  }

  get ports(): number[] {
    return [...this.open.keys()]
  }

  /** Stop accepting: close every listen socket. Open connections finish their requests. */
  closeAll(): void {
    for (const port of [...this.open.keys()]) this.closePort(port)
  }

  /**
   * Close every connection, idle keep-alive ones included. Call once nothing is in flight: a
   * worker thread cannot exit while uWS still holds sockets on its loop.
   */
  destroy(): void {
    for (const app of this.apps) (app as TemplatedApp & { close(): void }).close()
    this.apps.clear()
  }

  private closePort(port: number): void {
    const o = this.open.get(port)
    if (!o) return
    if (o.socket) uws.us_listen_socket_close(o.socket)
    this.open.delete(port)
    log('info', 'listener closed', { port })
  }

  private openPort(l: CompiledListener): string | undefined | Promise<string | undefined> {
    const app = uws.App()
    const port = l.port
    this.apps.add(app)
    const o: OpenListener = { app, socket: undefined, address: l.address, port }
    app.any('/*', (res, req) => this.handle(port, res, req))
    let called = false
    let settle: ((e: string | undefined) => void) | undefined
    const outcome = (): string | undefined => {
      if (!o.socket) {
        this.open.delete(port)
        return `cannot listen on ${l.address}:${port} (in use or not permitted)`
      }
      log('info', 'listener open', { listener: l.name, address: l.address, port })
      return undefined
    }
    // Claimed now, so a reconcile that runs before the fallback's late callback does not reopen it.
    this.open.set(port, o)
    app.listen(l.address, port, (socket) => {
      o.socket = socket || undefined
      called = true
      settle?.(outcome())
    })
    if (called) return outcome() // the native addon calls back before listen() returns
    return new Promise((resolve) => (settle = resolve))
  }

  // hot path -- change with care
  private handle(port: number, res: HttpResponse, req: HttpRequest): void {
    const { method, path, query } = requestLineOf(req)
    const headers = headersOf(req)
    const snap = this.gateway.current
    const listener = snap?.listeners.get(port)
    if (!snap || !listener) {
      // The port was removed by a reload while this keep-alive connection stayed open.
      res.cork(() => res.writeStatus(statusLine(LISTENER_GONE.status)).writeHeader('content-type', 'application/json').end(LISTENER_GONE.body, true))
      return
    }
    const live = this.gateway.enter()
    const down = new UwsDownstream(res, () => this.draining)
    const onDone = () => this.gateway.leave(live)
    // Until dispatch takes over, an abort (uWS closing the connection) only ends the request.
    down.onAbort(onDone)
    // Dispatch and local replies wait for the end of uWS's parse pass: see http/after-read.ts.
    const contentLength = headers['content-length']
    const transferEncoding = headers['transfer-encoding']
    if (contentLength === undefined && transferEncoding === undefined) {
      if (NO_BODY_METHODS.has(method)) {
        const head: IncomingRequest = { method, path, query, headers, body: undefined }
        afterRead(down, () => dispatch(live.snapshot, listener, head, down, onDone))
        return
      }
    } else {
      const bad = framingError(contentLength, transferEncoding)
      if (bad !== undefined) return this.refuse(down, errorReply(listener.protocol, 'SY_BAD_REQUEST', bad), onDone, headers)
    }
    const max = listener.maxBodyBytes
    if (contentLength !== undefined && Number(contentLength) > max) return this.refuse(down, tooLarge(listener), onDone, headers)
    let parts: Buffer[] | undefined
    let size = 0
    let rejected = false
    res.onData((ab, isLast) => {
      if (rejected) return
      size += ab.byteLength
      if (size > max) {
        rejected = true
        return this.refuse(down, tooLarge(listener), onDone, headers)
      }
      // uWS frees `ab` after this callback returns: copy.
      const chunk = Buffer.from(new Uint8Array(ab))
      if (!isLast) {
        ;(parts ??= []).push(chunk)
        return
      }
      const body = parts === undefined ? chunk : Buffer.concat([...parts, chunk])
      const head: IncomingRequest = { method, path, query, headers, body }
      afterRead(down, () => dispatch(live.snapshot, listener, head, down, onDone))
    })
  }

  /** Answers `reply` and closes the connection (the rest of the request stays unread). */
  private refuse(down: UwsDownstream, reply: LocalReply, onDone: () => void, headers: Record<string, string>): void {
    afterRead(down, () => {
      down.refuse(reply.status, [...reply.headers, ['x-request-id', refusedRequestId(headers)]], reply.body)
      onDone()
    })
  }
}

function tooLarge(listener: CompiledListener): LocalReply {
  return errorReply(listener.protocol, 'SY_BODY_TOO_LARGE', `request body exceeds ${listener.maxBodyBytes} bytes`)
}
