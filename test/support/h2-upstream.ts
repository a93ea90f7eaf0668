/**
 * A local OpenAI-format upstream speaking HTTP/2 over cleartext (h2c, prior knowledge) with
 * node:http2: chat completions as JSON or SSE, and the counters an HTTP/2 test needs (sessions =
 * TCP connections, streams, the most streams open at once on one session). The request's model
 * picks a misbehaviour: `goaway` (the session is closed with GOAWAY before an answer),
 * `rst` (the stream is reset with INTERNAL_ERROR), `refuse` (reset with REFUSED_STREAM), `hang`
 * (never answers). `failNext(kind)` applies one to the next request regardless of its model.
 */
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'

export type H2Misbehaviour = 'goaway' | 'rst' | 'refuse' | 'hang'

export interface H2Upstream {
  readonly url: string
  /** Sessions (connections) ever opened. */
  sessions(): number
  /** Streams (requests) received. */
  streams(): number
  /** The most streams open at the same time on one session. */
  maxConcurrent(): number
  /** Streams the client reset or abandoned before their answer ended. */
  aborted(): number
  failNext(kind: H2Misbehaviour, times?: number): void
  resetCounters(): void
  close(): Promise<void>
}

export async function startH2Upstream(opts: { chunks?: number; delayMs?: number; reply?: string } = {}): Promise<H2Upstream> {
  const chunks = opts.chunks ?? 3
  const delayMs = opts.delayMs ?? 10
  const reply = opts.reply ?? 'Hello over HTTP/2.'
  let sessions = 0
  let streams = 0
  let maxConcurrent = 0
  let aborted = 0
  const queue: H2Misbehaviour[] = []
  const open = new Map<http2.Http2Session, number>()
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } })
  server.on('session', (s) => {
    sessions++
    open.set(s, 0)
    s.on('close', () => open.delete(s))
  })
  server.on('stream', (stream, headers) => {
    streams++
    const session = stream.session!
    const now = (open.get(session) ?? 0) + 1
    open.set(session, now)
    if (now > maxConcurrent) maxConcurrent = now
    let ended = false
    // A reset the server sends itself surfaces as the stream's error: expected here.
    stream.on('error', () => {})
    stream.on('close', () => {
      open.set(session, (open.get(session) ?? 1) - 1)
      if (!ended) aborted++
    })
    let body = ''
    stream.setEncoding('utf8')
    stream.on('data', (d) => (body += d))
    stream.on('end', () => {
      let json: any = {}
      try { json = JSON.parse(body) } catch {}
      const kind = queue.shift() ?? (['goaway', 'rst', 'refuse', 'hang'].includes(json.model) ? json.model as H2Misbehaviour : undefined)
      if (kind === 'hang') return
      if (kind === 'rst') return stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)
      if (kind === 'refuse') return stream.close(http2.constants.NGHTTP2_REFUSED_STREAM)
      if (kind === 'goaway') {
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, 0)
        return void setTimeout(() => session.destroy(), 10)
      }
      if (headers[':path'] !== '/v1/chat/completions') {
        stream.respond({ ':status': 404, 'content-type': 'application/json' })
        ended = true
        return stream.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', param: null, code: null } }))
      }
      const base = { id: 'chatcmpl-h2', created: 0, model: json.model ?? 'm' }
      if (json.stream !== true) {
        stream.respond({ ':status': 200, 'content-type': 'application/json' })
        ended = true
        return stream.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 } }))
      }
      stream.respond({ ':status': 200, 'content-type': 'text/event-stream' })
      const size = Math.ceil(reply.length / chunks)
      let i = 0
      const step = () => {
        if (stream.destroyed || stream.closed) return
        if (i * size >= reply.length) {
          ended = true
          stream.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`)
          if (json.stream_options?.include_usage) stream.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 } })}\n\n`)
          return stream.end('data: [DONE]\n\n')
        }
        const piece = reply.slice(i * size, (i + 1) * size)
        stream.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: piece } : { content: piece }, finish_reason: null }] })}\n\n`)
        i++
        setTimeout(step, delayMs)
      }
      step()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/v1`,
    sessions: () => sessions,
    streams: () => streams,
    maxConcurrent: () => maxConcurrent,
    aborted: () => aborted,
    failNext(kind, times = 1) {
      for (let i = 0; i < times; i++) queue.push(kind)
    },
    resetCounters() {
      sessions = open.size
      streams = 0
      maxConcurrent = 0
      aborted = 0
    },
    close: () => new Promise<void>((r) => {
      for (const s of open.keys()) s.destroy()
      server.close(() => r())
    }),
  }
}
