// Row (c): the least a uWS + undici proxy can do, i.e. the ceiling for Switchyard's stack. No routing, no config,
// no filters: collect the body, forward it, stream the answer back.
// Usage: node dist/bench/bare-passthrough.js <listenPort>=<upstreamOrigin> [...]
import uWS from 'uWebSockets.js'
import { STATUS_CODES } from 'node:http'
import { Pool } from 'undici'

const statusLine = (code: number) => `${code} ${STATUS_CODES[code] ?? ''}`

function proxy(port: number, origin: string): void {
  const pool = new Pool(origin, { connections: 64 })
  uWS.App().any('/*', (res, req) => {
    // req is stack-allocated: read everything we need before the first callback returns.
    const method = req.getCaseSensitiveMethod()
    const query = req.getQuery()
    const path = query ? `${req.getUrl()}?${query}` : req.getUrl()
    const contentType = req.getHeader('content-type')
    // The textbook way to cancel upstream on client abort; measured at ~40–60 µs/req here (RESULTS.md notes).
    const abort = new AbortController()
    let aborted = false
    res.onAborted(() => { aborted = true; abort.abort() })

    const chunks: Buffer[] = []
    res.onData((ab, isLast) => {
      chunks.push(Buffer.from(ab.slice(0))) // uWS neuters `ab` after this callback
      if (isLast) void forward(Buffer.concat(chunks))
    })

    let first = true
    async function forward(body: Buffer): Promise<void> {
      try {
        const up = await pool.request({ method: method as 'POST', path, body, headers: contentType ? { 'content-type': contentType } : {}, signal: abort.signal })
        const type = up.headers['content-type']
        for await (const chunk of up.body as AsyncIterable<Buffer>) {
          if (aborted) return
          let ok = true
          res.cork(() => {
            if (first) { res.writeStatus(statusLine(up.statusCode)); if (typeof type === 'string') res.writeHeader('content-type', type); first = false }
            ok = res.write(chunk)
          })
          // Backpressure: stop pulling from upstream until uWS has flushed what it buffered.
          if (!ok) await new Promise<void>((resolve) => res.onWritable(() => { resolve(); return true }))
        }
        if (aborted) return
        res.cork(() => {
          if (first) { res.writeStatus(statusLine(up.statusCode)); if (typeof type === 'string') res.writeHeader('content-type', type) }
          res.end()
        })
      } catch {
        // Mid-stream failure: the status is gone, only closing tells the client the body is incomplete.
        if (!aborted) res.cork(() => { if (first) res.writeStatus('502 Bad Gateway').end(); else res.close() })
      }
    }
  }).listen('127.0.0.1', port, (socket) => {
    if (!socket) { console.error(`bare-passthrough: cannot listen on ${port}`); process.exit(1) }
  })
}

for (const arg of process.argv.slice(2)) {
  const eq = arg.indexOf('=')
  proxy(Number(arg.slice(0, eq)), arg.slice(eq + 1))
}
