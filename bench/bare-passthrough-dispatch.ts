// Row (c2): the same pass-through as bare-passthrough.ts, on undici's low-level `dispatch()` with an undici 7
// handler object instead of `pool.request()`. What it avoids per request: the BodyReadable stream and its async
// iterator, the AbortController/signal wiring, a header object per request (the arrays below are prebuilt), and
// a promise per chunk. When the upstream sends Content-Length, uWS gets it too (tryEnd) instead of chunked
// encoding, so a small reply leaves in one write.
// Usage: node dist/bench/bare-passthrough-dispatch.js <listenPort>=<upstreamOrigin> [...]
import uWS from 'uWebSockets.js'
import { STATUS_CODES } from 'node:http'
import { Pool, type Dispatcher } from 'undici'

const statusLines = new Map<number, string>()
const statusLine = (code: number) => statusLines.get(code) ?? statusLines.set(code, `${code} ${STATUS_CODES[code] ?? ''}`).get(code)!
const JSON_HEADERS = ['content-type', 'application/json'] // flat [name, value, ...]: undici's cheapest form
const NO_HEADERS: string[] = []

class Forward implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | null = null
  aborted = false
  started = false
  status = 200
  type: string | undefined
  length = -1 // upstream Content-Length, -1 when chunked
  constructor(readonly res: uWS.HttpResponse) {}

  // undici only treats a handler as new-style when it has onRequestStart.
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.aborted) controller.abort(new Error('client aborted'))
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode
    const t = headers['content-type']
    this.type = typeof t === 'string' ? t : undefined
    const len = headers['content-length']
    this.length = typeof len === 'string' ? Number(len) : -1
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.aborted) return
    const res = this.res
    let ok = true
    res.cork(() => {
      this.head()
      if (this.length < 0) { ok = res.write(chunk); return }
      const offset = res.getWriteOffset()
      ok = res.tryEnd(chunk, this.length)[0]
      // tryEnd may take part of the chunk; keep the rest and retry it when the socket drains.
      if (!ok) this.retry(chunk, offset)
    })
    if (!ok) {
      controller.pause()
      if (this.length < 0) res.onWritable(() => { controller.resume(); return true })
    }
  }

  retry(chunk: Buffer, offset: number): void {
    this.res.onWritable((now) => {
      const [ok] = this.res.tryEnd(chunk.subarray(now - offset), this.length)
      if (ok) this.controller!.resume()
      return ok
    })
  }

  onResponseEnd(): void {
    if (this.aborted) return
    // With Content-Length, the last tryEnd already ended the response.
    if (this.length < 0 || !this.started) this.res.cork(() => { this.head(); this.res.end() })
  }

  onResponseError(_c: Dispatcher.DispatchController, _err: Error): void {
    if (this.aborted) return
    this.res.cork(() => { if (this.started) this.res.close(); else this.res.writeStatus('502 Bad Gateway').end() })
  }

  head(): void {
    if (this.started) return
    this.started = true
    this.res.writeStatus(statusLine(this.status))
    if (this.type) this.res.writeHeader('content-type', this.type)
  }
}

function proxy(port: number, origin: string): void {
  const pool = new Pool(origin, { connections: 64 })
  uWS.App().any('/*', (res, req) => {
    const method = req.getCaseSensitiveMethod() as Dispatcher.HttpMethod
    const query = req.getQuery()
    const path = query ? `${req.getUrl()}?${query}` : req.getUrl()
    const ct = req.getHeader('content-type')
    const headers = ct === 'application/json' ? JSON_HEADERS : ct ? ['content-type', ct] : NO_HEADERS
    const handler = new Forward(res)
    res.onAborted(() => { handler.aborted = true; handler.controller?.abort(new Error('client aborted')) })

    let body: Buffer | null = null
    res.onData((ab, isLast) => {
      // Copy: uWS neuters `ab` after this callback. Most bodies arrive in one piece, so skip the array.
      const copy = Buffer.from(ab.slice(0))
      body = body ? Buffer.concat([body, copy]) : copy
      if (isLast) pool.dispatch({ method, path, headers, body }, handler)
    })
  }).listen('127.0.0.1', port, (socket) => {
    if (!socket) { console.error(`bare-passthrough-dispatch: cannot listen on ${port}`); process.exit(1) }
  })
}

for (const arg of process.argv.slice(2)) {
  const eq = arg.indexOf('=')
  proxy(Number(arg.slice(0, eq)), arg.slice(eq + 1))
}

// A clean exit on SIGTERM, so `--cpu-prof` writes its profile (bench/sse-profile.ts PROFILE_BARE=1).
process.on('SIGTERM', () => process.exit(0))
