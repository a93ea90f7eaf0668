/**
 * The adapter for every HTTP provider: decides what the request is (operation, caller protocol,
 * translator), checks its shape, resolves the upstream target, builds headers and body (usage
 * injection, translation, SigV4 signing) and starts the exchange (upstream-call.ts). Same protocol
 * on both sides: the body goes as received; different protocols: it is translated.
 *
 * hot path -- change with care (the pass-through case is what the benchmark measures).
 */
import type { Dispatcher } from 'undici'
import type { ClusterIR, UpstreamProtocol } from '../../compiler/ir.js'
import type { CompiledEndpoint, ProviderAdapter, RequestContext } from '../types.js'
import { sendError, sendReply } from '../http/respond.js'
import { createResponseHeaderPolicy, forwardedRequestHeaders } from './headers.js'
import { failInternally } from '../internal-error.js'
import { translationErrorReply } from '../providers/translation-reply.js'
import { operationOf } from '../providers/caller.js'
import { createTargetResolver, type UpstreamTarget } from './targets.js'
import { createProtocolTranslator, TranslationError, type CallerProtocol } from '../providers/translate/index.js'
import { createSigV4Signer, type Signer } from '../providers/sigv4.js'
import { log } from '../../shared/log.js'
import { UpstreamCall } from './upstream-call.js'

const JSON_TYPE = ['content-type', 'application/json']

export function createHttpProvider(c: ClusterIR): ProviderAdapter {
  const targets = createTargetResolver(c as ClusterIR & { protocol: UpstreamProtocol })
  const responseHeaders = createResponseHeaderPolicy(c.forwardResponseHeaders ?? [])
  const translators = {
    openai: targets.protocol === 'openai' ? undefined : createProtocolTranslator('openai', targets.protocol, { defaultMaxTokens: c.anthropic.defaultMaxTokens }),
    anthropic: targets.protocol === 'anthropic' ? undefined : createProtocolTranslator('anthropic', targets.protocol, { defaultMaxTokens: c.anthropic.defaultMaxTokens }),
    // An OpenAI-format upstream serves the Responses API itself: those bytes pass through.
    responses: targets.protocol === 'openai' ? undefined : createProtocolTranslator('responses', targets.protocol, { defaultMaxTokens: c.anthropic.defaultMaxTokens }),
  }
  const signer: Signer | undefined =
    c.protocol === 'bedrock' && c.bedrock.accessKeyId && c.bedrock.secretAccessKey
      ? createSigV4Signer(c.bedrock.region, c.bedrock.accessKeyId, c.bedrock.secretAccessKey, c.bedrock.sessionToken)
      : undefined

  return {
    forward(ctx: RequestContext, endpoint: CompiledEndpoint, timeoutMs: number): void {
      const head = ctx.head
      const op = operationOf(head.path)
      const rest = head.path.startsWith('/v1/') ? head.path.slice(3) : head.path
      const json = ctx.json
      const model = typeof json?.model === 'string' ? json.model : ''
      const stream = json?.stream === true
      const responsesApi = op === 'responses' || op === 'stored_response'
      const caller: CallerProtocol = responsesApi ? 'responses' : ctx.protocol
      if (op === 'stored_response' && targets.protocol !== 'openai') {
        return sendError(ctx, 'SY_UNSUPPORTED', `stored responses exist only on OpenAI-format upstreams; cluster '${ctx.cluster?.name}' is provider '${c.provider}'`)
      }
      const translator = op === 'chat' || op === 'messages' || op === 'count_tokens' || op === 'responses' ? translators[caller] : undefined
      if (translator && op === 'count_tokens') return sendError(ctx, 'SY_UNSUPPORTED', `provider '${c.provider}' has no token counting endpoint`)
      if (!translator && !responsesApi && caller !== targets.protocol && op !== 'other' && op !== 'embeddings') {
        return sendError(ctx, 'SY_UNSUPPORTED', `cannot translate ${head.path} for provider '${c.provider}'`)
      }
      if (translator) {
        // The shape is checked before anything reads it (the model for the path included).
        const bad = translator.check(json)
        if (bad !== undefined) return sendReply(ctx, translationErrorReply(caller, bad))
      }
      const target = targets.resolve(endpoint, op, rest, head.query, model, stream)
      if ('refused' in target) return sendError(ctx, target.refused, target.message)

      let body = ctx.body
      let headers: string[]
      let injectedUsage = false
      if (translator) {
        let translated
        try {
          translated = translator.request(json)
        } catch (e) {
          if (e instanceof TranslationError) return sendReply(ctx, translationErrorReply(caller, e))
          throw e
        }
        if (translated.dropped.length) log('warn', 'parameters dropped in translation', { route: ctx.route?.name, provider: c.provider, dropped: translated.dropped.join(',') })
        body = Buffer.from(JSON.stringify(translated.body))
        headers = endpoint.baseHeaders.concat(JSON_TYPE, target.headers, 'x-request-id', ctx.requestId)
        // Without configured credentials, the caller's own key is passed on (never alongside a SigV4
        // signature, and never when an auth filter took it as the caller's proof of identity).
        if (!endpoint.hasCredentials && !signer && ctx.head.identity === undefined) copyClientCredential(ctx.headers, headers)
      } else {
        if (stream && op === 'chat' && json.stream_options?.include_usage !== true) {
          // Ask for usage so it can be accounted; the extra chunk is stripped on the way back.
          const had = json.stream_options !== undefined
          json.stream_options = { ...(json.stream_options ?? {}), include_usage: true }
          body = had ? Buffer.from(JSON.stringify(json)) : withUsageOption(body!)
          ctx.usageInjected = true
        }
        injectedUsage = ctx.usageInjected
        headers = forwardedRequestHeaders(ctx.headers, endpoint, ctx.head.identity !== undefined)
        if (target.headers.length) headers.push(...target.headers)
      }
      const call = new UpstreamCall(ctx, endpoint, timeoutMs, translator, caller, model, injectedUsage, targets.protocol, responseHeaders, op)
      if (signer && !endpoint.hasCredentials) {
        signAndSend(signer, call, endpoint, target, headers, body).catch((e) => failInternally(ctx, 'request signing', e))
        return
      }
      send(call, endpoint, head.method, target.path, headers, body)
    },
  }
}


function send(call: UpstreamCall, endpoint: CompiledEndpoint, method: string, path: string, headers: string[], body: Buffer | undefined): void {
  endpoint.stats.start()
  endpoint.pool!.dispatch({ origin: undefined as unknown as string, method: method as Dispatcher.HttpMethod, path, headers, body }, call)
}

async function signAndSend(signer: Signer, call: UpstreamCall, endpoint: CompiledEndpoint, target: UpstreamTarget, headers: string[], body: Buffer | undefined): Promise<void> {
  const h: Record<string, string> = {}
  for (let i = 0; i < headers.length; i += 2) h[headers[i]] = headers[i + 1]
  try {
    const signed = await signer.sign(endpoint.origin, 'POST', target.path, h, body)
    for (const [k, v] of Object.entries(signed)) headers.push(k, v)
  } catch (e) {
    return call.failBeforeSend(`cannot sign the request: ${(e as Error).message}`)
  }
  send(call, endpoint, 'POST', target.path, headers, body)
}

const CLIENT_CREDENTIALS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key']
function copyClientCredential(from: Record<string, string>, to: string[]): void {
  for (const name of CLIENT_CREDENTIALS) if (from[name] !== undefined) to.push(name, from[name])
}

const USAGE_OPTION = Buffer.from('"stream_options":{"include_usage":true},')

/** Inserts the option after the body's opening brace: no re-serialization of a long chat history. */
export function withUsageOption(body: Buffer): Buffer {
  let i = 0
  while (i < body.length && body[i] !== 0x7b) i++
  let j = i + 1
  while (j < body.length && (body[j] === 0x20 || body[j] === 0x0a || body[j] === 0x0d || body[j] === 0x09)) j++
  if (i >= body.length || body[j] === 0x7d) return Buffer.from(JSON.stringify({ ...JSON.parse(body.toString()), stream_options: { include_usage: true } }))
  return Buffer.concat([body.subarray(0, i + 1), USAGE_OPTION, body.subarray(i + 1)])
}
