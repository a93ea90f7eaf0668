/**
 * The Responses API `response` object around translated output: ids, status, usage, and the
 * request fields OpenAI echoes back (tools, tool_choice, temperature…). Shared by the whole-response
 * builder and the stream writer, which sends the same object in response.created and response.completed.
 */
import type { StopReason } from './canonical.js'
import type { NormalizedUsage, ResponsesResponse, ResponsesStatus, ResponsesUsage } from './types.js'
import { randomId } from './ids.js'

export interface ResponsesObjectOptions {
  /** The model name the caller asked for; defaults to the upstream's. */
  model?: string
  /** Response id; default a fresh `resp_…`. */
  id?: string
  /** Unix seconds; default now. */
  createdAt?: number
  /** The caller's request body, for the fields the response object echoes. Absent: API defaults. */
  request?: unknown
}

const isObject = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v)
const orNull = <T>(v: unknown, type: string): T | null => (typeof v === type ? (v as T) : null)

export const responseId = (): string => randomId('resp_')
export const messageItemId = (): string => randomId('msg_')
export const functionCallItemId = (): string => randomId('fc_')
export const reasoningItemId = (): string => randomId('rs_')

/** A `response` object with no output yet (status in_progress), echoing the request. */
export function responsesEnvelope(model: string, opts: ResponsesObjectOptions): ResponsesResponse {
  const req = isObject(opts.request) ? opts.request : {}
  const text = isObject(req.text) ? req.text : {}
  const reasoning = isObject(req.reasoning) ? req.reasoning : {}
  return {
    id: opts.id ?? responseId(),
    object: 'response',
    created_at: opts.createdAt ?? Math.floor(Date.now() / 1000),
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: orNull(req.instructions, 'string'),
    max_output_tokens: orNull(req.max_output_tokens, 'number'),
    max_tool_calls: orNull(req.max_tool_calls, 'number'),
    model,
    output: [],
    parallel_tool_calls: req.parallel_tool_calls !== false,
    previous_response_id: null,
    reasoning: { effort: orNull(reasoning.effort, 'string'), summary: orNull(reasoning.summary ?? reasoning.generate_summary, 'string') },
    // Nothing is stored, whatever the request asked: say so.
    store: false,
    temperature: orNull(req.temperature, 'number'),
    text: { format: isObject(text.format) ? (text.format as { type: string }) : { type: 'text' }, verbosity: orNull(text.verbosity, 'string') },
    tool_choice: typeof req.tool_choice === 'string' || isObject(req.tool_choice) ? (req.tool_choice as ResponsesResponse['tool_choice']) : 'auto',
    tools: Array.isArray(req.tools) ? req.tools : [],
    top_p: orNull(req.top_p, 'number'),
    truncation: req.truncation === 'auto' ? 'auto' : 'disabled',
    usage: null,
    user: orNull(req.user, 'string'),
    metadata: isObject(req.metadata) ? req.metadata : {},
  }
}

export function usageToResponses(u: NormalizedUsage): ResponsesUsage {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: u.cachedInputTokens ?? 0 },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
    total_tokens: u.inputTokens + u.outputTokens,
  }
}

/** A stop reason as a response status: a length or content-filter stop leaves the response incomplete. */
export function finalStatus(stop: StopReason): Pick<ResponsesResponse, 'status' | 'incomplete_details'> & { status: ResponsesStatus } {
  if (stop === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } }
  if (stop === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } }
  return { status: 'completed', incomplete_details: null }
}

/** `response.error.code` for a failure with this HTTP status (the API's codes for failed responses). */
export function responseErrorCode(status: number): string {
  if (status === 429) return 'rate_limit_exceeded'
  if (status === 400 || status === 413 || status === 422) return 'invalid_prompt'
  return 'server_error'
}

/** A Responses `usage` object (a translated answer's, or an OpenAI upstream's in pass-through) → NormalizedUsage. */
export function usageFromResponses(u: Partial<ResponsesUsage> | null | undefined): NormalizedUsage {
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
  if (!u) return { inputTokens: 0, outputTokens: 0 }
  const out: NormalizedUsage = { inputTokens: n(u.input_tokens), outputTokens: n(u.output_tokens) }
  const cached = n(u.input_tokens_details?.cached_tokens)
  const reasoning = n(u.output_tokens_details?.reasoning_tokens)
  if (cached > 0) out.cachedInputTokens = cached
  if (reasoning > 0) out.reasoningTokens = reasoning
  return out
}
