/**
 * Built-in `mock` provider: answers OpenAI chat completions (and embeddings: mock-embeddings.ts)
 * in-process, deterministically, with optional streaming (N chunks, delay before each) — for
 * quickstarts, demos and tests. It goes
 * through the same response path (filters, backpressure, abort) as a real upstream. It answers
 * any model name, and lists its cluster's names on `GET /v1/models` as an OpenAI upstream would.
 */
import type { ClusterIR } from '../../compiler/ir.js'
import type { CompiledEndpoint, ProviderAdapter, RequestContext } from '../types.js'
import { complete, finishResponse, passChunk, sendChunk, sendError, sendReply, startResponse } from '../http/respond.js'
import { guarded } from '../internal-error.js'
import { jsonErrorReply, openAIErrorBody } from '../errors.js'
import { ResponsesSseWriter, toResponsesResponse } from './translate/write-responses.js'
import { assertResponsesRequest, shapeError } from './translate/request-shape.js'
import { translationErrorReply } from './translation-reply.js'
import { answerEmbeddings } from './mock-embeddings.js'

const SSE_HEADERS: [string, string][] = [['content-type', 'text/event-stream'], ['cache-control', 'no-cache']]
const JSON_HEADERS = [['content-type', 'application/json']] as const

/** What a mock cluster without `models` or `model_map` lists: the name its replies use when the request has none. */
export const MOCK_DEFAULT_MODEL = 'mock'

/** The public names a cluster serves: `models`, then `model_map` keys; a bare mock cluster lists MOCK_DEFAULT_MODEL. */
export function servedModels(cluster: ClusterIR): string[] {
  const names = new Set([...cluster.models, ...Object.keys(cluster.modelMap)])
  if (names.size === 0 && cluster.provider === 'mock') names.add(MOCK_DEFAULT_MODEL)
  return [...names]
}

const modelObject = (id: string, owner: string) => ({ id, object: 'model', created: 0, owned_by: owner })

export function createMockProvider(cluster: ClusterIR): ProviderAdapter {
  const { reply, chunks, chunkDelayMs, latencyMs } = cluster.mock
  const failure = cluster.mock.fail && mockFailure(cluster.mock.fail)
  const list = { status: 200, headers: JSON_HEADERS, body: Buffer.from(JSON.stringify({ object: 'list', data: servedModels(cluster).map((id) => modelObject(id, cluster.name)) })) }
  return {
    forward(ctx: RequestContext, endpoint: CompiledEndpoint): void {
      if (ctx.head.method === 'GET' && ctx.head.path.endsWith('/models')) return sendReply(ctx, list)
      if (failure && ctx.head.method === 'POST' && failure.fails(ctx)) return sendReply(ctx, failure.reply)
      if (ctx.head.method === 'POST' && ctx.head.path.endsWith('/responses')) return answerResponses(ctx, endpoint, cluster.mock)
      if (ctx.head.method === 'POST' && ctx.head.path.endsWith('/embeddings')) return answerEmbeddings(ctx)
      if (!ctx.head.path.endsWith('/chat/completions') || ctx.head.method !== 'POST') {
        return sendError(ctx, 'SY_UNSUPPORTED', `the mock provider only serves POST /v1/chat/completions, POST /v1/responses, POST /v1/embeddings and GET /v1/models (got ${ctx.head.method} ${ctx.head.path})`)
      }
      const req = ctx.json ?? {}
      const model = typeof req.model === 'string' ? req.model : 'mock'
      const text = reply ?? `Mock reply to: ${lastUserText(req.messages)}`
      const usage = { prompt_tokens: countWords(req.messages), completion_tokens: countWords(text), total_tokens: 0 }
      usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
      ctx.usage = { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens }
      const id = `chatcmpl-mock-${ctx.id}`
      const created = Math.floor(Date.now() / 1000)
      endpoint.stats.start()
      const done = () => endpoint.stats.finish()
      const run = () => {
        if (ctx.downstream.aborted) return done()
        if (req.stream === true) streamAnswer(ctx, { id, created, model, text, usage, chunks, chunkDelayMs, includeUsage: req.stream_options?.include_usage === true }, done)
        else {
          startResponse(ctx, 200, [['content-type', 'application/json']])
          const body = {
            id, object: 'chat.completion', created, model,
            choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
            usage,
          }
          // A traced rule that captures content (as an upstream's answer would be handed over).
          ctx.answerFacts?.content?.whole('openai', body)
          endWith(ctx, JSON.stringify(body))
          done()
        }
      }
      if (latencyMs > 0) setTimeout(() => guarded(ctx, 'mock provider', run), latencyMs)
      else run()
    },
  }
}

/** `mock.fail`: which requests fail, and the error they get (OpenAI's error shape, as an upstream would send). */
function mockFailure(f: NonNullable<ClusterIR['mock']['fail']>) {
  const message = `mock failure (mock.fail, ${f.percent}% of requests${f.onlyWithHeader ? ` with ${f.onlyWithHeader}` : ''})`
  return {
    reply: jsonErrorReply(f.status, openAIErrorBody(message, 'server_error', null, 'mock_failure')),
    fails: (ctx: RequestContext) => (f.onlyWithHeader === undefined || ctx.head.headers[f.onlyWithHeader] !== undefined) && Math.random() * 100 < f.percent,
  }
}

interface StreamPlan {
  id: string; created: number; model: string; text: string
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
  chunks: number; chunkDelayMs: number; includeUsage: boolean
}

function streamAnswer(ctx: RequestContext, p: StreamPlan, done: () => void): void {
  const pieces = split(p.text, p.chunks)
  const event = (delta: object, finish: string | null, usage?: object) =>
    Buffer.from(`data: ${JSON.stringify({ id: p.id, object: 'chat.completion.chunk', created: p.created, model: p.model, choices: finish === 'none' ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(usage && { usage }) })}\n\n`)
  startResponse(ctx, 200, SSE_HEADERS.map(([k, v]) => [k, v]))
  let i = 0
  let timer: NodeJS.Timeout | undefined
  ctx.downstream.onAbort(() => {
    if (timer) clearTimeout(timer)
    complete(ctx)
    done()
  })
  const step = () => {
    timer = undefined
    if (ctx.downstream.aborted) return
    if (i < pieces.length) {
      const delta = i === 0 ? { role: 'assistant', content: pieces[i] } : { content: pieces[i] }
      i++
      const ok = sendChunk(ctx, event(delta, null))
      if (!ok) return ctx.downstream.onWritable(schedule)
      return schedule()
    }
    sendChunk(ctx, event({}, 'stop'))
    if (p.includeUsage) sendChunk(ctx, event({}, 'none', p.usage))
    // A traced rule that captures content: the whole answer, now that the stream finished.
    ctx.answerFacts?.content?.whole('openai', { choices: [{ index: 0, message: { role: 'assistant', content: p.text }, finish_reason: 'stop' }] })
    endWith(ctx, 'data: [DONE]\n\n')
    done()
  }
  const guardedStep = () => guarded(ctx, 'mock provider', step)
  const schedule = () => {
    if (i < pieces.length && p.chunkDelayMs > 0) timer = setTimeout(guardedStep, p.chunkDelayMs)
    else if (i < pieces.length) step()
    else step()
  }
  schedule()
}

/**
 * POST /v1/responses: the same deterministic answer as the Responses API shapes it, through the
 * gateway's own Responses writer (what a translated cluster would send), streamed or whole.
 */
function answerResponses(ctx: RequestContext, endpoint: CompiledEndpoint, mock: ClusterIR['mock']): void {
  const bad = shapeError(assertResponsesRequest, ctx.json)
  if (bad !== undefined) return sendReply(ctx, translationErrorReply('responses', bad))
  const req = ctx.json
  const model = typeof req.model === 'string' ? req.model : MOCK_DEFAULT_MODEL
  const text = mock.reply ?? `Mock reply to: ${lastInputText(req.input)}`
  const usage = { inputTokens: countWords(typeof req.input === 'string' ? req.input : req.input?.map?.((i: any) => i?.content ?? '')), outputTokens: countWords(text) }
  ctx.usage = usage
  endpoint.stats.start()
  const done = () => endpoint.stats.finish()
  const opts = { model, request: req }
  const run = () => {
    if (ctx.downstream.aborted) return done()
    if (req.stream !== true) {
      const body = toResponsesResponse({ id: `mock-${ctx.id}`, model, parts: [{ type: 'text', text }], stop: 'stop', usage }, opts)
      startResponse(ctx, 200, [['content-type', 'application/json']])
      endWith(ctx, JSON.stringify(body))
      return done()
    }
    const w = new ResponsesSseWriter(opts)
    const pieces = split(text, mock.chunks)
    startResponse(ctx, 200, SSE_HEADERS.map(([k, v]) => [k, v]))
    w.start({ id: `mock-${ctx.id}`, model })
    let i = 0
    const step = () => {
      if (ctx.downstream.aborted) return done()
      if (i < pieces.length) {
        w.text(pieces[i++])
        sendChunk(ctx, Buffer.from(w.take()))
        if (mock.chunkDelayMs > 0) setTimeout(() => guarded(ctx, 'mock provider', step), mock.chunkDelayMs)
        else step()
        return
      }
      w.finish('stop')
      w.usage(usage)
      w.close()
      endWith(ctx, w.take())
      done()
    }
    step()
  }
  if (mock.latencyMs > 0) setTimeout(() => guarded(ctx, 'mock provider', run), mock.latencyMs)
  else run()
}

function lastInputText(input: unknown): string {
  if (typeof input === 'string') return input
  if (!Array.isArray(input)) return ''
  for (let i = input.length - 1; i >= 0; i--) {
    const it = input[i]
    if (it?.role !== 'user') continue
    if (typeof it.content === 'string') return it.content
    if (Array.isArray(it.content)) return it.content.filter((p: any) => p?.type === 'input_text').map((p: any) => p.text).join(' ')
  }
  return ''
}

/** Splits text into n non-empty-ish pieces at character boundaries (code points, not UTF-16 units). */
function split(text: string, n: number): string[] {
  const chars = Array.from(text)
  const size = Math.max(1, Math.ceil(chars.length / n))
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(chars.slice(i * size, (i + 1) * size).join(''))
  return out
}

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return ''
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]
    if (m?.role !== 'user') continue
    if (typeof m.content === 'string') return m.content
    if (Array.isArray(m.content)) return m.content.filter((p: any) => p?.type === 'text').map((p: any) => p.text).join(' ')
  }
  return ''
}

function countWords(v: unknown): number {
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean).length
  if (Array.isArray(v)) return v.reduce((n, m) => n + countWords(typeof m === 'string' ? m : m?.content ?? m?.text), 0)
  return 0
}

/** Ends the answer with its last bytes, which pass the filters' onChunk hooks as a proxied answer's do. */
function endWith(ctx: RequestContext, last: string | Buffer): void {
  const b = typeof last === 'string' ? Buffer.from(last) : last
  finishResponse(ctx, passChunk(ctx, b, true))
}
