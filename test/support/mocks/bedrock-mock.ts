// A Bedrock Runtime upstream: POST /model/{modelId}/converse (JSON) and /converse-stream
// (application/vnd.amazon.eventstream binary frames). Accepts a Bedrock API key as a Bearer token,
// or any SigV4 Authorization header for the configured access key id (the signature itself is
// not verified here).
import type { ServerResponse } from 'node:http'
import { encodeEventStreamMessage } from '../../../src/runtime/providers/translate/aws-event-stream.js'
import {
  countTokens, plan, sendJson, splitText, startMockServer, type MockContext, type MockOptions, type ProviderMock, type RecordedRequest,
} from './mock-server.js'

export interface BedrockMockOptions extends MockOptions {
  /** The SigV4 access key id the mock accepts in `Credential=`. Default 'AKIDEXAMPLE'. */
  accessKeyId?: string
}

function awsError(res: ServerResponse, status: number, type: string, message: string, extra: Record<string, string> = {}): void {
  sendJson(res, status, { message }, { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, 'x-amzn-requestid': 'mock-request-id', ...extra })
}

function fail(res: ServerResponse, f: ReturnType<MockContext['takeFailure']>): boolean {
  if (!f || f.kind === 'midstream') return false
  if (f.kind === 'rate_limit') {
    awsError(res, 429, 'ThrottlingException', 'Too many requests, please wait before trying again.', { 'retry-after': String(f.retryAfterSeconds ?? 1) })
  } else if (f.kind === 'context_length') {
    awsError(res, 400, 'ValidationException', 'Input is too long for requested model.')
  } else if (f.kind === 'overloaded') {
    awsError(res, 503, 'ServiceUnavailableException', 'Bedrock is unable to process your request.')
  } else {
    awsError(res, 500, 'InternalServerException', 'The server encountered an internal error while processing the request.')
  }
  return true
}

const ROUTE = /^\/model\/([^/]+)\/(converse|converse-stream)$/

function event(type: string, payload: object): Buffer {
  return encodeEventStreamMessage({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, JSON.stringify(payload))
}

function authorized(req: RecordedRequest, ctx: MockContext, accessKeyId: string): 'ok' | 'missing' | 'invalid' {
  const auth = req.headers.authorization
  if (!auth) return 'missing'
  if (auth === `Bearer ${ctx.opts.apiKey}`) return 'ok'
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/[^/]+\/bedrock\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/.exec(auth)
  return m && m[1] === accessKeyId && req.headers['x-amz-date'] ? 'ok' : 'invalid'
}

export function startBedrockMock(opts: BedrockMockOptions = {}): Promise<ProviderMock> {
  const accessKeyId = opts.accessKeyId ?? 'AKIDEXAMPLE'
  return startMockServer('bedrock', opts, async (req, res, ctx) => {
    const m = ROUTE.exec(req.url.split('?')[0]!)
    if (req.method !== 'POST' || !m) return awsError(res, 404, 'UnknownOperationException', 'Unknown operation')
    const auth = authorized(req, ctx, accessKeyId)
    if (auth === 'missing') return awsError(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token')
    if (auth === 'invalid') return awsError(res, 403, 'UnrecognizedClientException', 'The security token included in the request is invalid.')
    const body = req.json
    if (!body || !Array.isArray(body.messages)) return awsError(res, 400, 'ValidationException', 'The model returned the following errors: messages: field required')
    const failure = ctx.takeFailure()
    if (fail(res, failure)) return

    const tools: string[] = (body.toolConfig?.tools ?? []).map((t: any) => t.toolSpec?.name)
    const lastContent = body.messages.at(-1)?.content ?? []
    const p = plan(ctx, tools, body.toolConfig?.toolChoice?.tool?.name, lastContent.some((b: any) => b.toolResult), 'tooluse_')
    const inputTokens = countTokens(JSON.stringify(body.messages) + JSON.stringify(body.system ?? ''))
    const outputTokens = p.tool ? countTokens(JSON.stringify(p.tool.args)) : countTokens(p.text)
    const usage = { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens }
    const stopReason = p.tool ? 'tool_use' : 'end_turn'
    const headers = { 'x-amzn-requestid': 'mock-request-id' }

    if (m[2] === 'converse') {
      const content = p.tool ? [{ toolUse: { toolUseId: p.tool.id, name: p.tool.name, input: p.tool.args } }] : [{ text: p.text }]
      return sendJson(res, 200, { output: { message: { role: 'assistant', content } }, stopReason, usage, metrics: { latencyMs: 42 } }, headers)
    }
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', ...headers })
    await ctx.write(res, event('messageStart', { role: 'assistant' }))
    if (p.tool) {
      await ctx.write(res, event('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: p.tool.id, name: p.tool.name } } }))
      for (const piece of splitText(JSON.stringify(p.tool.args), ctx.opts.chunks)) {
        await ctx.write(res, event('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: piece } } }))
      }
    } else {
      const pieces = splitText(p.text, ctx.opts.chunks)
      for (let i = 0; i < pieces.length; i++) {
        await ctx.write(res, event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: pieces[i] } }))
        if (i === 0 && failure?.kind === 'midstream') {
          await ctx.write(res, encodeEventStreamMessage(
            { ':exception-type': 'throttlingException', ':content-type': 'application/json', ':message-type': 'exception' },
            JSON.stringify({ message: 'Too many requests, please wait before trying again.' }),
          ))
          return void res.end()
        }
      }
    }
    await ctx.write(res, event('contentBlockStop', { contentBlockIndex: 0 }))
    await ctx.write(res, event('messageStop', { stopReason }))
    await ctx.write(res, event('metadata', { usage, metrics: { latencyMs: 42 } }))
    res.end()
  })
}
