/**
 * Downstream over a uWS HttpResponse. uWS rules honoured here: nothing touches `res` after
 * onAborted fired; every write is corked (writes may come after an await or a timer); status and
 * headers go out together with the first body bytes; `write` returning false is backpressure.
 */
import type { HttpResponse } from 'uWebSockets.js'
import type { Downstream } from '../types.js'
import { statusLine } from '../../shared/uws.js'

export class UwsDownstream implements Downstream {
  aborted = false
  private status = 200
  private headers: readonly (readonly [string, string])[] = []
  private headSent = false
  private abortCb: (() => void) | undefined
  private writableCb: (() => void) | undefined
  private ok = true
  /** A body was started with write(): uWS is using chunked encoding. */
  private chunked = false

  constructor(private readonly res: HttpResponse, private readonly closeAfter: () => boolean) {
    res.onAborted(() => {
      this.aborted = true
      const cb = this.abortCb
      this.abortCb = undefined
      cb?.()
    })
  }

  onAbort(cb: () => void): void {
    this.abortCb = cb
  }

  get started(): boolean {
    return this.headSent
  }

  writeHead(status: number, headers: readonly (readonly [string, string])[]): void {
    this.status = status
    this.headers = headers
  }

  private flushHead(): void {
    if (this.headSent) return
    this.headSent = true
    const res = this.res
    res.writeStatus(statusLine(this.status))
    const h = this.headers
    for (let i = 0; i < h.length; i++) res.writeHeader(h[i][0], h[i][1])
  }

  write(chunk: Uint8Array | string): boolean {
    if (this.aborted) return true
    this.chunked = true
    this.res.cork(() => {
      this.flushHead()
      this.ok = this.res.write(chunk)
    })
    return this.ok
  }

  onWritable(cb: () => void): void {
    if (this.aborted) return
    this.writableCb = cb
    this.res.onWritable(() => {
      const w = this.writableCb
      this.writableCb = undefined
      w?.()
      return true
    })
  }

  end(chunk?: Uint8Array | string): void {
    if (this.aborted) return
    this.abortCb = undefined
    // uWS drops the chunked terminator when asked to close on end(); such a response ends normally
    // and its connection is closed by the worker's final destroy() instead.
    const close = !this.chunked && this.closeAfter()
    this.res.cork(() => {
      this.flushHead()
      this.res.end(chunk, close)
    })
    // uWS forbids touching res after end; treat it like aborted from here on.
    this.aborted = true
  }

  /**
   * Sends a whole response and closes the connection: the rest of the request is not read (a body
   * too large, framing that cannot be trusted). Replaces any response not yet started.
   */
  refuse(status: number, headers: readonly (readonly [string, string])[], body: Uint8Array | string): void {
    if (this.aborted) return
    this.abortCb = undefined
    this.aborted = true
    const res = this.res
    res.cork(() => {
      res.writeStatus(statusLine(status))
      for (let i = 0; i < headers.length; i++) res.writeHeader(headers[i][0], headers[i][1])
      res.end(body, true)
    })
  }

  remoteAddress(): string {
    // uWS's response is valid until it ended or aborted (both set `aborted` here), unlike its request.
    return this.aborted ? '' : Buffer.from(this.res.getRemoteAddressAsText()).toString()
  }

  close(): void {
    if (this.aborted) return
    this.abortCb = undefined
    this.aborted = true
    this.res.close()
  }
}
