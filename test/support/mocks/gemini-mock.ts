// A Gemini API upstream: POST /v1beta/models/{model}:generateContent and
// :streamGenerateContent (?alt=sse for SSE, otherwise a streamed JSON array), keyed by
// x-goog-api-key or ?key=.
import type { ServerResponse } from 'node:http'
import {
  countTokens, plan, sendJson, splitText, startMockServer, type MockContext, type MockOptions, type ProviderMock, type RecordedRequest,
} from './mock-server.js'

const err = (code: number, status: string, message: string, details?: unknown[]) => ({ error: { code, message, status, ...(details ? { details } : {}) } })

function fail(res: ServerResponse, f: ReturnType<MockContext['takeFailure']>): boolean {
  if (!f || f.kind === 'midstream') return false
  if (f.kind === 'rate_limit') {
    sendJson(res, 429, err(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details.', [
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${f.retryAfterSeconds ?? 1}s` },
    ]))
  } else if (f.kind === 'context_length') {
    sendJson(res, 400, err(400, 'INVALID_ARGUMENT', 'The input token count (1196265) exceeds the maximum number of tokens allowed (1048575).'))
  } else if (f.kind === 'overloaded') {
    sendJson(res, 503, err(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'))
  } else {
    sendJson(res, 500, err(500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'))
  }
  return true
}

const ROUTE = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/

async function handle(req: RecordedRequest, res: ServerResponse, ctx: MockContext): Promise<void> {
  const u = new URL(req.url, 'http://mock')
  const m = ROUTE.exec(u.pathname)
  if (req.method !== 'POST' || !m) return sendJson(res, 404, err(404, 'NOT_FOUND', `Requested entity was not found.`))
  const key = (req.headers['x-goog-api-key'] as string | undefined) ?? u.searchParams.get('key') ?? undefined
  if (!key) {
    return sendJson(res, 403, err(403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."))
  }
  if (key !== ctx.opts.apiKey) {
    return sendJson(res, 400, err(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
    ]))
  }
  const body = req.json
  if (!body || !Array.isArray(body.contents)) return sendJson(res, 400, err(400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents is not specified'))
  const failure = ctx.takeFailure()
  if (fail(res, failure)) return

  const model = decodeURIComponent(m[1]!)
  const stream = m[2] === 'streamGenerateContent'
  const sse = u.searchParams.get('alt') === 'sse'
  const decls: string[] = (body.tools ?? []).flatMap((t: any) => (t.functionDeclarations ?? []).map((d: any) => d.name))
  const fc = body.toolConfig?.functionCallingConfig
  const lastParts = body.contents.at(-1)?.parts ?? []
  const p = plan(ctx, decls, fc?.allowedFunctionNames?.[0], lastParts.some((x: any) => x.functionResponse), '', fc?.mode === 'NONE')
  const promptTokenCount = countTokens(JSON.stringify(body.contents) + JSON.stringify(body.systemInstruction ?? ''))
  const candidatesTokenCount = p.tool ? countTokens(JSON.stringify(p.tool.args)) : countTokens(p.text)
  const usageMetadata = { promptTokenCount, candidatesTokenCount, totalTokenCount: promptTokenCount + candidatesTokenCount }
  const responseId = `mock${Date.now()}`
  const slice = (parts: object[], finish?: string, usage = false) => ({
    candidates: [{ content: { parts, role: 'model' }, ...(finish ? { finishReason: finish } : {}), index: 0 }],
    ...(usage ? { usageMetadata } : { usageMetadata: { promptTokenCount, totalTokenCount: promptTokenCount } }),
    modelVersion: model,
    responseId,
  })
  const finalParts = p.tool ? [{ functionCall: { name: p.tool.name, args: p.tool.args } }] : null

  if (!stream) return sendJson(res, 200, slice(finalParts ?? [{ text: p.text }], 'STOP', true))

  const slices = finalParts
    ? [slice(finalParts, 'STOP', true)]
    : splitText(p.text, ctx.opts.chunks).map((t, i, all) => (i === all.length - 1 ? slice([{ text: t }], 'STOP', true) : slice([{ text: t }])))
  res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/json; charset=UTF-8' })
  for (let i = 0; i < slices.length; i++) {
    // Gemini frames SSE with CRLF; the JSON-array mode writes "[{…}\r\n,{…}\r\n]".
    await ctx.write(res, sse ? `data: ${JSON.stringify(slices[i])}\r\n\r\n` : `${i === 0 ? '[' : ','}${JSON.stringify(slices[i])}\r\n`)
    if (i === 0 && failure?.kind === 'midstream') {
      const e = err(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.')
      await ctx.write(res, sse ? `data: ${JSON.stringify(e)}\r\n\r\n` : `,${JSON.stringify(e)}\r\n]`)
      return void res.end()
    }
  }
  if (!sse) await ctx.write(res, ']')
  res.end()
}

export function startGeminiMock(opts: MockOptions = {}): Promise<ProviderMock> {
  return startMockServer('gemini', opts, handle)
}
