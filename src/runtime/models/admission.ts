/**
 * A request checked against the registered model it will be sent as, before any provider is
 * called: capabilities it uses that the model lacks (400 naming it), an output ceiling above the
 * model's, and a prompt over the model's context window — which moves a `fallback` rule whose `on`
 * lists `context_length` to its first cluster whose model fits, or is refused with 400
 * `context_length_exceeded`. Every answer comes from the error catalog, in the caller's protocol.
 *
 * What each check costs: the capability scan runs only for a model with a capability off, the
 * prompt estimate (one pass over the body bytes, limits/token-estimate.ts) only for a model with a
 * context_window and a body longer than half of it in bytes; an unregistered model costs the one
 * Map lookup. Numbers: docs/models.md.
 *
 * hot path -- change with care.
 */
import type { CompiledRoute, RequestContext, UpstreamFailure } from '../types.js'
import type { CompiledModel, ModelRegistry } from './registry.js'
import { errorReply } from '../errors.js'
import { sendReply } from '../http/respond.js'
import { estimateInputTokens } from '../limits/token-estimate.js'
import { operationOf } from '../providers/caller.js'
import { log } from '../../shared/log.js'

/** Inline base64 data, which the estimate counts as a whole image whatever its length. */
const INLINE_DATA = Buffer.from(';base64,')

/** What a fallback's `on` is asked: would an upstream's context-length refusal move on? */
const CONTEXT_LENGTH: UpstreamFailure = Object.freeze({ kind: 'status', status: 400, contextLength: true })

/** A capability a request uses: its name in `capabilities` and the request field that needs it. */
export interface UsedCapability {
  readonly capability: 'tools' | 'vision' | 'json_mode' | 'reasoning' | 'streaming'
  readonly param: string
}

/**
 * Which of the route's candidates to send to first: 0, an index further down a fallback chain
 * (context length), or -1 when the request was answered (refused).
 */
export function admitModel(registry: ModelRegistry, ctx: RequestContext, route: CompiledRoute): number {
  const json = ctx.json
  if (json === null || typeof json !== 'object' || Array.isArray(json) || ctx.head.method !== 'POST') return 0
  const op = operationOf(ctx.head.path)
  if (op !== 'chat' && op !== 'messages' && op !== 'responses') return 0
  const action = route.action
  const chain = action.kind === 'fallback' ? action.clusters : undefined
  const asked = ctx.head.model
  const first = registry.byName.get((chain?.[0].modelRewrite ?? route.modelRewrite ?? asked) as string)
  if (first === undefined) return 0
  const body = json as Record<string, unknown>
  if (first.refusesSome) {
    const lacking = lackingCapability(first, body)
    if (lacking !== undefined) return refuse(ctx, 'SY_MODEL_CAPABILITY', `model '${first.name}' does not support ${CAPABILITY_WORDS[lacking.capability]} (\`${lacking.param}\`); remove it or choose another model`, lacking.param)
  }
  if (first.maxOutputTokens !== Infinity) {
    const asks = outputAsk(body)
    if (asks !== undefined && asks.tokens > first.maxOutputTokens) {
      return refuse(ctx, 'SY_MAX_OUTPUT_EXCEEDED', `${asks.param} is too large: ${asks.tokens}. Model '${first.name}' supports at most ${first.maxOutputTokens} output tokens`, asks.param)
    }
  }
  const raw = ctx.body
  if (first.contextWindow === Infinity || raw === undefined) return 0
  // The estimate never gives a byte more than 2 tokens (a lone 4-byte lead byte) except for inline
  // base64 data: a body that short cannot be over, and the pass over its bytes is skipped.
  if (raw.length * 2 <= first.contextWindow && raw.indexOf(INLINE_DATA) < 0) return 0
  const tokens = estimateInputTokens(raw)
  if (tokens <= first.contextWindow) return 0
  if (chain !== undefined && route.fallbackOn?.(CONTEXT_LENGTH)) {
    for (let i = 1; i < chain.length; i++) {
      const m = registry.byName.get((chain[i].modelRewrite ?? route.modelRewrite ?? asked) as string)
      if (m !== undefined && (tokens > m.contextWindow || (m.refusesSome && lackingCapability(m, body) !== undefined))) continue
      log('info', 'prompt over the context window; falling back before sending', { route: route.name, model: first.name, context_window: first.contextWindow, estimated_tokens: tokens, to: chain[i].cluster.name, ...(m && { to_model: m.name }) })
      ctx.cluster = chain[i].cluster
      return i
    }
  }
  return refuse(ctx, 'SY_CONTEXT_LENGTH_EXCEEDED', `This model's maximum context length is ${first.contextWindow} tokens, but the request's prompt is about ${tokens} tokens (estimated) for model '${first.name}'. Shorten the messages or choose a model with a larger context window.`, 'messages')
}

const CAPABILITY_WORDS: Readonly<Record<UsedCapability['capability'], string>> = {
  tools: 'tools (function calling)',
  vision: 'image inputs (vision)',
  json_mode: 'JSON mode (structured output)',
  reasoning: 'reasoning options',
  streaming: 'streaming',
}

function refuse(ctx: RequestContext, code: 'SY_MODEL_CAPABILITY' | 'SY_MAX_OUTPUT_EXCEEDED' | 'SY_CONTEXT_LENGTH_EXCEEDED', message: string, param: string): -1 {
  sendReply(ctx, errorReply(ctx.protocol, code, message, param))
  return -1
}

/** The first capability the request uses that `m` lacks, in a fixed order; undefined when none. */
export function lackingCapability(m: CompiledModel, body: Record<string, unknown>): UsedCapability | undefined {
  const c = m.capabilities
  if (!c.streaming && body.stream === true) return { capability: 'streaming', param: 'stream' }
  if (!c.tools && ((Array.isArray(body.tools) && body.tools.length > 0) || (Array.isArray(body.functions) && body.functions.length > 0))) {
    return { capability: 'tools', param: Array.isArray(body.tools) && body.tools.length > 0 ? 'tools' : 'functions' }
  }
  if (!c.jsonMode) {
    if (isJsonFormat(body.response_format)) return { capability: 'json_mode', param: 'response_format' }
    const text = body.text as { format?: unknown } | undefined
    if (text !== null && typeof text === 'object' && isJsonFormat(text.format)) return { capability: 'json_mode', param: 'text.format' }
  }
  if (!c.reasoning) {
    if (body.reasoning_effort !== undefined) return { capability: 'reasoning', param: 'reasoning_effort' }
    if (body.reasoning !== undefined && body.reasoning !== null) return { capability: 'reasoning', param: 'reasoning' }
    const t = body.thinking as { type?: unknown } | undefined
    if (t !== null && typeof t === 'object' && t.type !== 'disabled') return { capability: 'reasoning', param: 'thinking' }
  }
  if (!c.vision) {
    const where = Array.isArray(body.messages) ? 'messages' : Array.isArray(body.input) ? 'input' : undefined
    if (where !== undefined && hasImage(body[where] as unknown[])) return { capability: 'vision', param: where }
  }
  return undefined
}

function isJsonFormat(f: unknown): boolean {
  if (f === null || typeof f !== 'object') return false
  const t = (f as { type?: unknown }).type
  return t === 'json_object' || t === 'json_schema'
}

const IMAGE_PARTS = new Set(['image_url', 'input_image', 'image'])

/** An image part in any message's content, or in a tool result's content one level down. */
function hasImage(items: readonly unknown[]): boolean {
  for (const item of items) {
    if (item === null || typeof item !== 'object') continue
    const content = (item as { content?: unknown }).content
    if (!Array.isArray(content)) continue
    for (const part of content) {
      if (part === null || typeof part !== 'object') continue
      const p = part as { type?: unknown; content?: unknown }
      if (typeof p.type === 'string' && IMAGE_PARTS.has(p.type)) return true
      if (Array.isArray(p.content) && p.content.some((q) => q !== null && typeof q === 'object' && IMAGE_PARTS.has((q as { type?: string }).type ?? ''))) return true
    }
  }
  return false
}

/** The output ceiling the request asks for, and the field that asks. */
function outputAsk(body: Record<string, unknown>): { tokens: number; param: string } | undefined {
  for (const param of ['max_completion_tokens', 'max_tokens', 'max_output_tokens']) {
    const v = body[param]
    if (typeof v === 'number' && Number.isFinite(v)) return { tokens: v, param }
  }
  return undefined
}
