// An Anthropic Messages upstream: POST /v1/messages with x-api-key and anthropic-version, JSON or SSE.
import type { ServerResponse } from 'node:http'
import {
  countTokens, plan, sendJson, splitText, startMockServer, type MockContext, type MockOptions, type ProviderMock, type RecordedRequest,
} from './mock-server.js'

const err = (type: string, message: string) => ({ type: 'error', error: { type, message }, request_id: 'req_mock' })

function fail(res: ServerResponse, f: ReturnType<MockContext['takeFailure']>): boolean {
  if (!f || f.kind === 'midstream') return false
  if (f.kind === 'rate_limit') {
    sendJson(res, 429, err('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'), { 'retry-after': String(f.retryAfterSeconds ?? 1) })
  } else if (f.kind === 'context_length') {
    sendJson(res, 400, err('invalid_request_error', 'prompt is too long: 208310 tokens > 200000 maximum'))
  } else if (f.kind === 'overloaded') {
    sendJson(res, 529, err('overloaded_error', 'Overloaded'))
  } else {
    sendJson(res, 500, err('api_error', 'Internal server error'))
  }
  return true
}

async function handle(req: RecordedRequest, res: ServerResponse, ctx: MockContext): Promise<void> {
  const path = req.url.split('?')[0]
  if (req.method !== 'POST' || (path !== '/v1/messages' && path !== '/v1/messages/count_tokens')) return sendJson(res, 404, err('not_found_error', 'Not Found'))
  if (req.headers['x-api-key'] !== ctx.opts.apiKey) return sendJson(res, 401, err('authentication_error', 'invalid x-api-key'))
  if (path === '/v1/messages/count_tokens') {
    // POST /v1/messages/count_tokens → { input_tokens }
    return sendJson(res, 200, { input_tokens: countTokens(JSON.stringify(req.json?.messages ?? []) + JSON.stringify(req.json?.system ?? '')) })
  }
  if (!req.headers['anthropic-version']) return sendJson(res, 400, err('invalid_request_error', 'anthropic-version: header is required'))
  const body = req.json
  if (!body || !Array.isArray(body.messages)) return sendJson(res, 400, err('invalid_request_error', 'messages: Field required'))
  if (typeof body.max_tokens !== 'number') return sendJson(res, 400, err('invalid_request_error', 'max_tokens: Field required'))
  const failure = ctx.takeFailure()
  if (fail(res, failure)) return

  const last = body.messages.at(-1)
  const lastIsToolResult = Array.isArray(last?.content) && last.content.some((b: any) => b.type === 'tool_result')
  const tools: string[] = (body.tools ?? []).map((t: any) => t.name)
  const forced = body.tool_choice?.type === 'tool' ? body.tool_choice.name : undefined
  const p = plan(ctx, tools, forced, lastIsToolResult, 'toolu_', body.tool_choice?.type === 'none')
  const id = `msg_mock${Date.now()}`
  const inputTokens = countTokens(JSON.stringify(body.messages) + JSON.stringify(body.system ?? ''))
  const outputTokens = p.tool ? countTokens(JSON.stringify(p.tool.args)) : countTokens(p.text)
  const stopReason = p.tool ? 'tool_use' : 'end_turn'
  const headers = { 'request-id': 'req_mock' }

  if (!body.stream) {
    const content = p.tool ? [{ type: 'tool_use', id: p.tool.id, name: p.tool.name, input: p.tool.args }] : [{ type: 'text', text: p.text }]
    return sendJson(res, 200, {
      id, type: 'message', role: 'assistant', model: body.model, content, stop_reason: stopReason, stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    }, headers)
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers })
  const send = (v: { type: string }) => ctx.write(res, `event: ${v.type}\ndata: ${JSON.stringify(v)}\n\n`)
  await send({
    type: 'message_start',
    message: {
      id, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    },
  } as { type: string })
  if (p.tool) {
    await send({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: p.tool.id, name: p.tool.name, input: {} } } as { type: string })
    await send({ type: 'ping' })
    for (const piece of splitText(JSON.stringify(p.tool.args), ctx.opts.chunks)) {
      await send({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: piece } } as { type: string })
    }
  } else {
    await send({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } as { type: string })
    await send({ type: 'ping' })
    const pieces = splitText(p.text, ctx.opts.chunks)
    for (let i = 0; i < pieces.length; i++) {
      await send({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: pieces[i] } } as { type: string })
      if (i === 0 && failure?.kind === 'midstream') {
        await send(err('overloaded_error', 'Overloaded'))
        return void res.end()
      }
    }
  }
  await send({ type: 'content_block_stop', index: 0 } as { type: string })
  await send({ type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } } as { type: string })
  await send({ type: 'message_stop' })
  res.end()
}

export function startAnthropicMock(opts: MockOptions = {}): Promise<ProviderMock> {
  return startMockServer('anthropic', opts, handle)
}
