// A test-only gateway: one caller protocol in, one upstream protocol out, built from the
// translation modules the way a provider adapter would use them. Lets the official SDKs
// judge the translated wire format end to end.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { startHttpServer } from './http-server.js'
import { SseParser } from '../../src/runtime/providers/sse/sse-parser.js'
import { createEventStreamDecoder } from '../../src/runtime/providers/translate/aws-event-stream.js'
import {
  bedrockPath, callerError, createProtocolTranslator, geminiPath, TranslationError, type CallerProtocol, type UpstreamProtocol,
} from '../../src/runtime/providers/translate/index.js'

export interface MiniGateway {
  url: string
  dropped: string[][]
  close(): Promise<void>
}

function upstreamTarget(upstream: UpstreamProtocol, base: string, model: string, stream: boolean, key: string): { url: string; headers: Record<string, string> } {
  switch (upstream) {
    case 'openai': return { url: `${base}/v1/chat/completions`, headers: { authorization: `Bearer ${key}` } }
    case 'anthropic': return { url: `${base}/v1/messages`, headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' } }
    case 'gemini': return { url: base + geminiPath(model, stream), headers: { 'x-goog-api-key': key } }
    case 'bedrock': return { url: base + bedrockPath(model, stream), headers: { authorization: `Bearer ${key}` } }
  }
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

export async function startMiniGateway(caller: CallerProtocol, upstream: UpstreamProtocol, upstreamUrl: string, key = 'test-key'): Promise<MiniGateway> {
  const t = createProtocolTranslator(caller, upstream)
  const dropped: string[][] = []
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    let translated
    try {
      translated = t.request(body)
    } catch (e) {
      if (!(e instanceof TranslationError)) throw e
      const ce = callerError(caller === 'responses' ? 'openai' : caller, 400, e.message, e.param)
      return send(res, ce.status, ce.headers, ce.body)
    }
    dropped.push(translated.dropped)
    const stream = body.stream === true
    const target = upstreamTarget(upstream, upstreamUrl, body.model, stream, key)
    const up = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', ...target.headers }, body: JSON.stringify(translated.body) })
    if (!up.ok) {
      const ce = t.error(up.status, await up.text(), up.headers)
      return send(res, ce.status, ce.headers, ce.body)
    }
    if (!stream) return send(res, 200, {}, t.response(await up.json(), { model: body.model, request: body }))
    const st = t.stream({ model: body.model, includeUsage: body.stream_options?.include_usage === true, request: body })
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    if (upstream === 'bedrock') {
      const dec = createEventStreamDecoder()
      for await (const c of up.body!) for (const m of dec.push(c)) res.write(st.push(m))
    } else {
      const p = new SseParser()
      for await (const c of up.body!) for (const ev of p.push(c)) res.write(st.push(ev))
    }
    res.end(st.end())
  }
  const server = await startHttpServer((req, res) => {
    // An upstream torn down mid-answer (a test ending early) ends this answer, not the test run.
    handle(req, res).catch(() => res.destroy())
  })
  return { url: server.origin, dropped, close: server.close }
}
