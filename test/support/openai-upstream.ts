/**
 * A local OpenAI-format upstream (Chat Completions wire format: JSON body, `chat.completion`
 * objects, SSE `chat.completion.chunk` events ending in `data: [DONE]`). Behaviour is chosen by
 * the request's model name so one server can misbehave on command:
 *   slow-stream  5 chunks, 100 ms apart         hang     never answers
 *   reset        closes the socket, no answer    error-500 answers 500 with OpenAI error JSON
 *   cut-stream   2 chunks, then the socket is destroyed mid-stream
 *   anything else: a normal answer, streamed when `stream: true`.
 * `failNext(...)` queues per-request behaviour on top of that (see Upstream.failNext).
 * With `opts.usage`, normal answers report that usage (JSON `usage`; streams asked for
 * `stream_options.include_usage` end with OpenAI's usage-only chunk) and record it on the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { receive, startHttpServer } from './http-server.js'

export interface RecordedRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: any
  /** True when the client (the gateway) went away before the response ended. */
  aborted: boolean
  /** The gateway-side port of the TCP connection: equal ports mean a reused keep-alive connection. */
  remotePort: number
  /** The usage a normal answer reported (only with `opts.usage`; a stream's once its usage chunk is written). */
  usage?: ReportedUsage
}

export interface ReportedUsage {
  prompt_tokens: number
  completion_tokens: number
}

export interface Upstream {
  readonly url: string
  readonly port: number
  readonly name: string
  readonly requests: RecordedRequest[]
  /**
   * Queue failures for the next requests, one per request: `500`, `503`, `reset`, `hang`,
   * `429` / `429:<retry-after>`, `context_length`; any other `<status>` / `<status>:<retry-after>`
   * (e.g. `529`, Anthropic's "overloaded") answers that status with OpenAI error JSON. Also:
   *   `cut-stream-now`   200 SSE, one chunk, then the connection is reset
   *   `role-then-reset`  200 SSE, only the opening role chunk (empty content), then a reset
   *   `role-then-think:<ms>` the role chunk, then the normal answer after <ms> (a thinking model)
   *   `truncate` / `stall` / `empty-stream`   200 SSE: one chunk and a clean close without
   *                      `[DONE]` / one chunk and silence / a clean close with no event at all
   *   `ok`               a normal answer (a placeholder, to interleave failures with successes)
   *   `wait:<ms>:<kind>` behave as `<kind>` after `<ms>` ms of silence (nothing sent, not even
   *                      headers); skipped if the gateway went away meanwhile
   *   `slow-json:<ms>`   = `wait:<ms>:ok`: the whole normal answer (headers too) only after `<ms>`
   *   `slow-body:<ms>`   200 + JSON headers (with content-length) at once, the body after `<ms>`
   *   `malformed-first`  200 SSE whose first event is `data: {not json`, then a normal stream
   *   `malformed-event`  200 SSE: one good chunk, 50 ms later `data: {not json`, then the rest
   *                      of a normal stream and `[DONE]`
   */
  failNext(...kinds: string[]): void
  /** GET /health answers 200 while healthy, 503 otherwise. */
  setHealthy(ok: boolean): void
  close(): Promise<void>
}

export interface UpstreamOptions {
  chunkDelayMs?: number
  /** The usage a normal answer reports, from the request body (default: 5 prompt + 4 completion tokens, JSON only). */
  usage?: (body: any) => ReportedUsage
}

export async function startOpenAIUpstream(name: string, opts: UpstreamOptions = {}): Promise<Upstream> {
  const requests: RecordedRequest[] = []
  const queued: string[] = []
  let healthy = true
  const server = await startHttpServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'down')
      return
    }
    receive(req, (r) => {
      let body: any
      try {
        body = JSON.parse(r.body.toString() || 'null')
      } catch {
        body = r.body.toString()
      }
      const rec: RecordedRequest = { method: r.method, url: r.url, headers: r.headers, body, aborted: false, remotePort: req.socket.remotePort! }
      requests.push(rec)
      res.on('close', () => {
        if (!res.writableFinished) rec.aborted = true
      })
      const failure = rec.url.includes('/chat/completions') ? queued.shift() : undefined
      const normal = () => answer(name, rec, req, res, opts.chunkDelayMs ?? 0, opts.usage)
      if (failure !== undefined) return fail(failure, req, res, rec, normal)
      normal()
    })
  }, { keepAliveTimeoutMs: 60_000 })
  return {
    url: `${server.origin}/v1`,
    port: server.port,
    name,
    requests,
    failNext: (...kinds: string[]) => void queued.push(...kinds),
    setHealthy: (ok: boolean) => void (healthy = ok),
    close: server.close,
  }
}

function answer(name: string, rec: RecordedRequest, req: IncomingMessage, res: ServerResponse, chunkDelayMs: number, usageOf?: (body: any) => ReportedUsage): void {
  if (rec.url.startsWith('/v1/models')) {
    return json(res, 200, { object: 'list', data: [{ id: 'gpt-4o', object: 'model', created: 0, owned_by: name }] })
  }
  // Azure OpenAI: /openai/deployments/{deployment}/chat/completions?api-version=…, `api-key` header.
  const azure = /^\/openai\/deployments\/([^/]+)\/chat\/completions\?api-version=[^&]+$/.exec(rec.url)
  if (azure && rec.headers['api-key'] !== 'azure-key') {
    return json(res, 401, { error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint.' } })
  }
  if ((rec.url !== '/v1/chat/completions' && !azure) || rec.method !== 'POST') {
    return json(res, 404, { error: { message: `Unknown request URL: ${rec.method} ${rec.url}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } })
  }
  const model: string = rec.body?.model ?? ''
  if (model === 'hang') return
  if (model === 'reset') {
    req.socket.destroy()
    return
  }
  if (model === 'error-500') return json(res, 500, { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } })
  const text = `Hello from ${name}.`
  const reported = usageOf?.(rec.body)
  const usage = reported ? { ...reported, total_tokens: reported.prompt_tokens + reported.completion_tokens } : { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 }
  if (rec.body?.stream !== true) {
    if (reported) rec.usage = reported
    return json(res, 200, {
      id: 'chatcmpl-up1', object: 'chat.completion', created: 1700000000, model,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage,
    })
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-upstream': name })
  const pieces = model === 'slow-stream' || model === 'cut-stream' ? ['Hel', 'lo ', 'fr', 'om ', name] : ['Hello ', `from ${name}.`]
  const delay = model === 'slow-stream' || model === 'cut-stream' ? 100 : chunkDelayMs
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-up1', object: 'chat.completion.chunk', created: 1700000000, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`
  let i = 0
  const next = (): void => {
    if (res.destroyed) return
    if (model === 'cut-stream' && i === 2) {
      res.socket?.destroy()
      return
    }
    if (i < pieces.length) {
      res.write(chunk(i === 0 ? { role: 'assistant', content: pieces[i] } : { content: pieces[i] }, null))
      i++
      if (delay > 0) setTimeout(next, delay)
      else next()
      return
    }
    res.write(chunk({}, 'stop'))
    if (reported && rec.body?.stream_options?.include_usage === true) {
      res.write(`data: ${JSON.stringify({ id: 'chatcmpl-up1', object: 'chat.completion.chunk', created: 1700000000, model, choices: [], usage })}\n\n`)
      rec.usage = reported
    }
    res.end('data: [DONE]\n\n')
  }
  next()
}

function fail(kind: string, req: IncomingMessage, res: ServerResponse, rec: RecordedRequest, normal: () => void): void {
  if (kind === 'hang') return
  if (kind === 'ok') return normal()
  const wait = /^(?:wait:(\d+):(.+)|slow-json:(\d+))$/.exec(kind)
  if (wait) {
    const ms = Number(wait[1] ?? wait[3])
    const then = wait[2] ?? 'ok'
    setTimeout(() => {
      if (!rec.aborted && !res.destroyed) fail(then, req, res, rec, normal)
    }, ms)
    return
  }
  const slowBody = /^slow-body:(\d+)$/.exec(kind)
  if (slowBody) {
    const model: string = rec.body?.model ?? ''
    const text = JSON.stringify({
      id: 'chatcmpl-slow', object: 'chat.completion', created: 1700000000, model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the slow body.', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
    })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.flushHeaders()
    setTimeout(() => {
      if (!rec.aborted && !res.destroyed) res.end(text)
    }, Number(slowBody[1]))
    return
  }
  if (kind === 'malformed-first' || kind === 'malformed-event') {
    const ev = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-bad', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`
    const bad = 'data: {not json\n\n'
    const rest = () => {
      if (rec.aborted || res.destroyed) return
      res.write(ev({ content: 'more' }, null))
      res.write(ev({}, 'stop'))
      res.end('data: [DONE]\n\n')
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    if (kind === 'malformed-first') {
      res.write(bad)
      res.write(ev({ role: 'assistant', content: 'after garbage ' }, null))
      rest()
      return
    }
    res.write(ev({ role: 'assistant', content: 'partial ' }, null))
    setTimeout(() => {
      if (rec.aborted || res.destroyed) return
      res.write(bad)
      setTimeout(rest, 20)
    }, 50)
    return
  }
  if (kind === 'role-then-reset' || kind.startsWith('role-then-think:')) {
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-think', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(chunk({ role: 'assistant', content: '' }, null))
    if (kind === 'role-then-reset') {
      setTimeout(() => req.socket.destroy(), 30)
      return
    }
    setTimeout(() => {
      if (res.destroyed) return
      res.write(chunk({ content: 'Thought it through.' }, null))
      res.write(chunk({}, 'stop'))
      res.end('data: [DONE]\n\n')
    }, Number(kind.split(':')[1]))
    return
  }
  if (kind === 'cut-stream-now') {
    // One chunk, then the connection is reset mid-answer.
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(`data: ${JSON.stringify({ id: 'chatcmpl-cut', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o', choices: [{ index: 0, delta: { role: 'assistant', content: 'partial ' }, finish_reason: null }] })}\n\n`)
    setTimeout(() => req.socket.destroy(), 30)
    return
  }
  if (kind === 'truncate' || kind === 'stall' || kind === 'empty-stream') {
    // 200 + SSE, then: one chunk and a clean close without [DONE] / one chunk and silence / nothing.
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    if (kind !== 'empty-stream') {
      res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'partial ' }, finish_reason: null }] })}\n\n`)
    }
    if (kind !== 'stall') res.end()
    return
  }
  if (kind === 'reset') {
    req.socket.destroy()
    return
  }
  if (kind === 'context_length') {
    return json(res, 400, { error: { message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } })
  }
  const [status, retryAfter] = kind.split(':')
  const text = JSON.stringify({ error: { message: `injected ${status}`, type: status === '429' ? 'requests' : 'server_error', param: null, code: null } })
  res.writeHead(Number(status), { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(retryAfter && { 'retry-after': retryAfter }) })
  res.end(text)
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
