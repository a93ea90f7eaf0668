// Real-time streaming upstream for the time-to-first-token rows: like a model, it thinks for FIRST_MS, then emits
// SSE_CHUNKS events GAP_MS apart, each in its own write. nginx's `return` cannot pace a body, hence this mock.
// Usage: node dist/bench/mock-stream-upstream.js <port> [<port>...]   (FIRST_MS=50 GAP_MS=10 by default)
import { createServer } from 'node:http'
import { MODEL, SSE_CHUNKS, SSE_DONE, sseEvent } from './payloads.js'

const FIRST_MS = Number(process.env.FIRST_MS ?? 50)
const GAP_MS = Number(process.env.GAP_MS ?? 10)
const events = Array.from({ length: SSE_CHUNKS }, (_, i) => sseEvent(i, MODEL.ttft))

const server = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
  req.resume()
  req.once('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.flushHeaders()
    let i = 0
    const next = () => {
      if (res.destroyed) return
      if (i < events.length) {
        res.write(events[i++])
        timer = setTimeout(next, GAP_MS)
      } else {
        res.end(SSE_DONE)
      }
    }
    let timer = setTimeout(next, FIRST_MS)
    res.once('close', () => clearTimeout(timer))
  })
})
server.keepAliveTimeout = 120_000

// One http.Server can listen on one address only, so extra ports get their own server sharing the handler.
const ports = process.argv.slice(2).map(Number)
if (ports.length === 0) throw new Error('usage: mock-stream-upstream.js <port> [<port>...]')
for (const [i, port] of ports.entries()) {
  const s = i === 0 ? server : createServer({ keepAliveTimeout: 120_000 }, (req, res) => server.emit('request', req, res))
  s.listen(port, '127.0.0.1')
}
