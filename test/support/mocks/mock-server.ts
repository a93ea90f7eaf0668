// Shared plumbing for the provider mocks: a node:http server on port 0, request recording,
// a failure switch, and paced writes so streams reach the client as separate reads.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { receive, startHttpServer } from '../http-server.js'

export interface RecordedRequest {
  method: string
  /** Path and query, as received. */
  url: string
  headers: IncomingHttpHeaders
  body: string
  /** The body parsed as JSON, when it is JSON. */
  json?: any
}

/** Failures a mock can be told to return, each in its provider's own format. */
export type MockFailure =
  | { kind: 'rate_limit'; retryAfterSeconds?: number }
  | { kind: 'context_length' }
  | { kind: 'server' }
  | { kind: 'overloaded' }
  /** Answer 200, start streaming, then send the provider's in-stream error. */
  | { kind: 'midstream' }

export interface MockOptions {
  /** The credential the mock accepts. Default 'test-key'. */
  apiKey?: string
  /** The assistant's text reply. Default 'Hello from the <provider> mock.' */
  reply?: string
  /** How many pieces a streamed reply is cut into. Default 3. */
  chunks?: number
  /** Pause between streamed events, in ms. Default 5 (0 still yields to the event loop). */
  delayMs?: number
  /** Write every streamed frame in two halves (the cut may fall inside a UTF-8 character). */
  fragmentWrites?: boolean
  /** Arguments of the tool call the mock makes when the request offers tools. Default {}. */
  toolArguments?: Record<string, unknown>
}

export interface ProviderMock {
  url: string
  requests: RecordedRequest[]
  /** The next `times` model requests (default 1) fail with `failure`. */
  failNext(failure: MockFailure, times?: number): void
  close(): Promise<void>
}

export interface MockContext {
  opts: Required<Omit<MockOptions, 'reply'>> & { reply: string }
  /** Takes the pending failure, if any. */
  takeFailure(): MockFailure | undefined
  write(res: ServerResponse, data: string | Buffer): Promise<void>
}

export type MockHandler = (req: RecordedRequest, res: ServerResponse, ctx: MockContext) => Promise<void> | void

export async function startMockServer(provider: string, options: MockOptions, handler: MockHandler): Promise<ProviderMock> {
  const requests: RecordedRequest[] = []
  const failures: MockFailure[] = []
  const opts = {
    apiKey: options.apiKey ?? 'test-key',
    reply: options.reply ?? `Hello from the ${provider} mock.`,
    chunks: Math.max(1, options.chunks ?? 3),
    delayMs: options.delayMs ?? 5,
    fragmentWrites: options.fragmentWrites ?? false,
    toolArguments: options.toolArguments ?? {},
  }
  const ctx: MockContext = {
    opts,
    takeFailure: () => failures.shift(),
    async write(res, data) {
      const buf = typeof data === 'string' ? Buffer.from(data) : data
      if (opts.fragmentWrites && buf.length > 1) {
        const mid = Math.floor(buf.length / 2) + 1
        res.write(buf.subarray(0, mid))
        await sleep(1)
        res.write(buf.subarray(mid))
      } else {
        res.write(buf)
      }
      await sleep(opts.delayMs)
    },
  }
  const server = await startHttpServer((req: IncomingMessage, res: ServerResponse) => {
    receive(req, ({ method, url, headers, body: bytes }) => {
      const body = bytes.toString('utf8')
      const rec: RecordedRequest = { method, url, headers, body }
      try {
        rec.json = body ? JSON.parse(body) : undefined
      } catch {
        // not JSON; handlers answer that in their own format
      }
      requests.push(rec)
      Promise.resolve(handler(rec, res, ctx)).catch((err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(String(err))
      })
    })
  })
  return {
    url: server.origin,
    requests,
    failNext(failure, times = 1) {
      for (let i = 0; i < times; i++) failures.push(failure)
    },
    close: server.close,
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers })
  res.end(text)
}

/** Cuts text into `n` pieces on code-point boundaries. */
export function splitText(text: string, n: number): string[] {
  const cps = Array.from(text)
  const size = Math.ceil(cps.length / n) || 1
  const out: string[] = []
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(''))
  return out.length ? out : ['']
}

/** A deterministic stand-in for a tokenizer: about four characters a token. */
export function countTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4))
}

export interface Plan {
  text: string
  tool?: { id: string; name: string; args: Record<string, unknown> }
}

/** The mock's "model": call the (chosen or first) tool when tools are offered and the last turn is
 *  not a tool result; otherwise answer with the configured text. */
export function plan(ctx: MockContext, tools: string[], forced: string | undefined, lastIsToolResult: boolean, idPrefix: string, none = false): Plan {
  if (!none && tools.length && !lastIsToolResult) {
    return { text: '', tool: { id: `${idPrefix}mock_${requestCounter++}`, name: forced ?? tools[0]!, args: ctx.opts.toolArguments } }
  }
  return { text: ctx.opts.reply }
}
let requestCounter = 1
