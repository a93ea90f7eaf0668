/**
 * Helpers for the issue-10 HTTP framing regressions: raw bytes over node:net (no client library
 * would send these requests) and an upstream that records every request the moment its head
 * arrives, so a request the gateway forwarded and then aborted is still counted.
 */
import { connect } from 'node:net'
import { startHttpServer } from './http-server.js'

export interface Exchange {
  /** Everything the gateway sent, as latin1 text. */
  readonly text: string
  /** The gateway closed the connection (FIN or reset) before `waitMs`. */
  readonly closed: boolean
  /** Status codes of the responses found in `text`, in order. */
  readonly statuses: number[]
}

/** How many complete responses (Content-Length or chunked framing) `text` holds. */
export function completeResponses(text: string): number {
  let n = 0
  let at = 0
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at)
    if (end < 0) return n
    const head = text.slice(at, end)
    const len = /\r\ncontent-length: (\d+)/i.exec(head)
    let next: number
    if (len) next = end + 4 + Number(len[1])
    else if (/\r\ntransfer-encoding: chunked/i.test(head)) {
      const last = text.indexOf('\r\n0\r\n\r\n', end)
      next = last < 0 ? Infinity : last + 7
    } else next = end + 4
    if (next > text.length) return n
    n++
    at = next
  }
}

/**
 * Writes `bytes` in one write on a fresh connection and collects the answer until the gateway
 * closes the connection, `responses` complete responses arrived, or `waitMs` passed; then the
 * client closes it.
 */
export function exchange(port: number, bytes: string, waitMs = 3000, responses = Infinity): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1')
    const parts: Buffer[] = []
    let done = false
    const finish = (closed: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      s.destroy()
      const text = Buffer.concat(parts).toString('latin1')
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
      resolve({ text, closed, statuses })
    }
    const timer = setTimeout(() => finish(false), waitMs)
    s.once('connect', () => s.write(Buffer.from(bytes, 'latin1')))
    s.on('data', (d) => {
      parts.push(d)
      if (completeResponses(Buffer.concat(parts).toString('latin1')) >= responses) finish(false)
    })
    s.once('end', () => finish(true))
    s.once('close', () => finish(true))
    s.once('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? finish(true) : reject(e)))
  })
}

/** The JSON body of the first response in `text`. */
export function firstBody(text: string): any {
  const head = text.indexOf('\r\n\r\n')
  const m = /content-length: (\d+)/i.exec(text.slice(0, head))
  return JSON.parse(text.slice(head + 4, head + 4 + Number(m![1])))
}

export interface CountingUpstream {
  readonly url: string
  /** `METHOD path` of every request whose head arrived, in order. */
  readonly seen: string[]
  close(): Promise<void>
}

/** An OpenAI-shaped upstream answering every request with a small chat completion. */
export async function startCountingUpstream(): Promise<CountingUpstream> {
  const seen: string[] = []
  const server = await startHttpServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({
        id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }))
    })
  })
  return { url: server.origin, seen, close: server.close }
}

/** A gateway config: /v1/* goes to `upstreamUrl`, every other path has no route (a local 404). */
export function proxyConfig(adminPort: number, port: number, upstreamUrl: string, extra = ''): string {
  return `
admin: { port: ${adminPort} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main${extra} }]
routes: [{ name: main, rules: [{ match: { path: { prefix: /v1/ } }, cluster: up }] }]
clusters: [{ name: up, provider: openai, endpoints: [{ url: "${upstreamUrl}", api_key: sk-gateway-secret }] }]
`
}

export const CHAT_BODY = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })

export function chatRequest(path = '/v1/chat/completions', body = CHAT_BODY): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}
