// An OpenAI Chat Completions upstream: POST /v1/chat/completions with Bearer auth, JSON or SSE.
import type { ServerResponse } from 'node:http'
import {
  countTokens, plan, sendJson, splitText, startMockServer, type MockContext, type MockOptions, type ProviderMock, type RecordedRequest,
} from './mock-server.js'

const err = (message: string, type: string, code: string | null, param: string | null = null) => ({ error: { message, type, param, code } })

function fail(res: ServerResponse, f: ReturnType<MockContext['takeFailure']>): boolean {
  if (!f || f.kind === 'midstream') return false
  if (f.kind === 'rate_limit') {
    sendJson(res, 429, err('Rate limit reached for requests', 'requests', 'rate_limit_exceeded'), { 'retry-after': String(f.retryAfterSeconds ?? 1) })
  } else if (f.kind === 'context_length') {
    sendJson(res, 400, err("This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", 'invalid_request_error', 'context_length_exceeded', 'messages'))
  } else if (f.kind === 'overloaded') {
    sendJson(res, 503, err('The engine is currently overloaded, please try again later', 'server_error', null))
  } else {
    sendJson(res, 500, err('The server had an error while processing your request. Sorry about that!', 'server_error', null))
  }
  return true
}

async function handle(req: RecordedRequest, res: ServerResponse, ctx: MockContext): Promise<void> {
  const path = req.url.split('?')[0]
  if (req.method === 'POST' && path === '/v1/embeddings') return embeddings(req, res, ctx)
  if (req.method !== 'POST' || path !== '/v1/chat/completions') {
    return sendJson(res, 404, err(`Invalid URL (${req.method} ${path})`, 'invalid_request_error', null))
  }
  const auth = req.headers.authorization
  if (!auth) return sendJson(res, 401, err("You didn't provide an API key.", 'invalid_request_error', null))
  if (auth !== `Bearer ${ctx.opts.apiKey}`) return sendJson(res, 401, err('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'))
  const body = req.json
  if (!body || !Array.isArray(body.messages) || typeof body.model !== 'string') {
    return sendJson(res, 400, err("Missing required parameter: 'messages'.", 'invalid_request_error', 'missing_required_parameter', 'messages'))
  }
  const failure = ctx.takeFailure()
  if (fail(res, failure)) return

  const tools: string[] = (body.tools ?? []).map((t: any) => t.function?.name)
  const forced = typeof body.tool_choice === 'object' ? body.tool_choice?.function?.name : undefined
  const p = plan(ctx, tools, forced, body.messages.at(-1)?.role === 'tool', 'call_', body.tool_choice === 'none')
  const id = `chatcmpl-mock${Date.now()}`
  const created = Math.floor(Date.now() / 1000)
  const promptTokens = countTokens(JSON.stringify(body.messages))
  const completionTokens = p.tool ? countTokens(JSON.stringify(p.tool.args)) : countTokens(p.text)
  const usage = {
    prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  }
  const finish = p.tool ? 'tool_calls' : 'stop'
  const toolCall = p.tool && { id: p.tool.id, type: 'function', function: { name: p.tool.name, arguments: JSON.stringify(p.tool.args) } }

  if (!body.stream) {
    return sendJson(res, 200, {
      id, object: 'chat.completion', created, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: p.tool ? null : p.text, refusal: null, ...(toolCall ? { tool_calls: [toolCall] } : {}) }, logprobs: null, finish_reason: finish }],
      usage, service_tier: 'default', system_fingerprint: 'fp_mock',
    })
  }
  const includeUsage = body.stream_options?.include_usage === true
  const chunk = (delta: object, finishReason: string | null) => ({
    id, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: 'fp_mock',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  })
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' })
  const send = (v: unknown) => ctx.write(res, `data: ${JSON.stringify(v)}\n\n`)
  await send(chunk({ role: 'assistant', content: p.tool ? null : '', refusal: null }, null))
  if (failure?.kind === 'midstream') {
    await send(err('The server had an error while processing your request.', 'server_error', null))
    return void res.end()
  }
  if (p.tool) {
    const args = JSON.stringify(p.tool.args)
    await send(chunk({ tool_calls: [{ index: 0, id: p.tool.id, type: 'function', function: { name: p.tool.name, arguments: '' } }] }, null))
    for (const piece of splitText(args, ctx.opts.chunks)) await send(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null))
  } else {
    for (const piece of splitText(p.text, ctx.opts.chunks)) await send(chunk({ content: piece }, null))
  }
  await send(chunk({}, finish))
  if (includeUsage) await send({ id, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: 'fp_mock', choices: [], usage })
  await ctx.write(res, 'data: [DONE]\n\n')
  res.end()
}

/** POST /v1/embeddings: one deterministic 8-dimensional vector per input. */
function embeddings(req: RecordedRequest, res: ServerResponse, ctx: MockContext): void {
  if (req.headers.authorization !== `Bearer ${ctx.opts.apiKey}`) return sendJson(res, 401, err('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'))
  if (fail(res, ctx.takeFailure())) return
  const inputs: string[] = Array.isArray(req.json?.input) ? req.json.input : [String(req.json?.input ?? '')]
  const vector = (text: string) => Array.from({ length: 8 }, (_, i) => ((text.charCodeAt(i % Math.max(1, text.length)) || 0) % 17) / 17)
  // encoding_format: base64 (what the official SDK asks for) is little-endian float32, base64-encoded.
  const base64 = req.json?.encoding_format === 'base64'
  const data = inputs.map((text, index) => ({
    object: 'embedding', index,
    embedding: base64 ? Buffer.from(new Float32Array(vector(text)).buffer).toString('base64') : vector(text),
  }))
  const tokens = inputs.reduce((n, t) => n + countTokens(t), 0)
  sendJson(res, 200, { object: 'list', data, model: req.json?.model, usage: { prompt_tokens: tokens, total_tokens: tokens } })
}

export function startOpenAIMock(opts: MockOptions = {}): Promise<ProviderMock> {
  return startMockServer('openai', opts, handle)
}
