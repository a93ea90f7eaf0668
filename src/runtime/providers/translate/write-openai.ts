/** Canonical → OpenAI Chat Completions: the whole-response builder and the SSE chunk writer. */
import type { CanonicalResponse, SseWriter, StopReason, StreamFailure } from './canonical.js'
import type { NormalizedUsage, OpenAIChatResponse, OpenAIChunk, OpenAIChunkDelta, OpenAIToolCall } from './types.js'
import { stopToOpenAI } from './stop-reason.js'
import { usageToOpenAI } from './usage.js'
import { nowSeconds, randomId } from './ids.js'
import { openAIErrorBody, openAIErrorType } from '../../errors.js'

export interface OpenAIWriterOptions {
  /** The model name the caller asked for; defaults to the upstream's. */
  model?: string
  /** Completion id; defaults to one derived from the upstream id. */
  id?: string
  /** Unix seconds; defaults to now. */
  created?: number
  /** The caller's `stream_options.include_usage`: emit the usage chunk before `[DONE]`. */
  includeUsage?: boolean
  /** Emit reasoning text as `delta.reasoning_content` (a common extension, not OpenAI's). Default false. */
  emitReasoning?: boolean
}

function completionId(upstreamId: string | undefined): string {
  return upstreamId ? (upstreamId.startsWith('chatcmpl-') ? upstreamId : 'chatcmpl-' + upstreamId) : randomId('chatcmpl-')
}

export function toOpenAIResponse(r: CanonicalResponse, opts: { model?: string } = {}): OpenAIChatResponse {
  let text = ''
  let hasText = false
  const toolCalls: OpenAIToolCall[] = []
  for (const p of r.parts) {
    if (p.type === 'text') {
      text += p.text
      hasText = true
    } else {
      toolCalls.push({ id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments } })
    }
  }
  const message: OpenAIChatResponse['choices'][number]['message'] = {
    role: 'assistant',
    content: hasText ? text : null,
    refusal: null,
  }
  if (toolCalls.length) message.tool_calls = toolCalls
  return {
    id: completionId(r.id),
    object: 'chat.completion',
    created: r.created ?? nowSeconds(),
    model: opts.model ?? r.model,
    choices: [{ index: 0, message, finish_reason: stopToOpenAI(r.stop), logprobs: null }],
    usage: usageToOpenAI(r.usage),
  }
}

/**
 * Writes `data: {chat.completion.chunk}` frames. Follows OpenAI's stream contract: the first
 * chunk carries the role, the finish chunk has an empty delta, with include_usage every chunk
 * has `usage: null` and a last chunk with `choices: []` carries the usage, then `data: [DONE]`.
 * An upstream error becomes `data: {"error": …}` and the stream ends without `[DONE]`.
 */
export class OpenAISseWriter implements SseWriter {
  /** What the upstream said (for telemetry): the model of its first event, the last finish. */
  upstreamModel: string | undefined = undefined
  stopReason: StopReason | undefined = undefined
  private out = ''
  private id: string | undefined
  private model: string
  private readonly created: number
  private readonly includeUsage: boolean
  private readonly emitReasoning: boolean
  private started = false
  private finished: StopReason | undefined
  private done = false
  private lastUsage: NormalizedUsage = { inputTokens: 0, outputTokens: 0 }

  constructor(private readonly opts: OpenAIWriterOptions = {}) {
    this.id = opts.id
    this.model = opts.model ?? ''
    this.created = opts.created ?? nowSeconds()
    this.includeUsage = opts.includeUsage === true
    this.emitReasoning = opts.emitReasoning === true
  }

  take(): string {
    const s = this.out
    this.out = ''
    return s
  }

  start(meta: { id?: string; model?: string }): void {
    this.upstreamModel ??= meta.model
    if (this.started) return
    if (!this.id) this.id = completionId(meta.id)
    if (!this.opts.model && meta.model) this.model = meta.model
    this.started = true
    this.chunk({ role: 'assistant', content: '' }, null)
  }

  text(text: string): void {
    if (!text || this.done) return
    this.ensureStarted()
    this.chunk({ content: text }, null)
  }

  reasoning(text: string): void {
    if (!text || this.done || !this.emitReasoning) return
    this.ensureStarted()
    this.chunk({ reasoning_content: text } as OpenAIChunkDelta, null)
  }

  toolStart(index: number, id: string, name: string): void {
    if (this.done) return
    this.ensureStarted()
    this.chunk({ tool_calls: [{ index, id, type: 'function', function: { name, arguments: '' } }] }, null)
  }

  toolArgs(index: number, fragment: string): void {
    if (!fragment || this.done) return
    this.chunk({ tool_calls: [{ index, function: { arguments: fragment } }] }, null)
  }

  toolEnd(): void {}

  finish(reason: StopReason): void {
    this.stopReason = reason
    if (this.done || this.finished) return
    this.ensureStarted()
    this.finished = reason
    this.chunk({}, stopToOpenAI(reason))
  }

  usage(u: NormalizedUsage): void {
    this.lastUsage = u
  }

  failure: StreamFailure | undefined

  error(f: StreamFailure): void {
    if (this.done) return
    this.done = true
    this.failure = f
    const body = openAIErrorBody(f.message, openAIErrorType(f.status), null, null)
    this.out += 'data: ' + JSON.stringify(body) + '\n\n'
  }

  close(): void {
    if (this.done) return
    if (!this.finished) {
      this.error({ status: 502, message: 'upstream stream ended before the response was complete' })
      return
    }
    this.done = true
    if (this.includeUsage) {
      const last: OpenAIChunk = {
        id: this.id!, object: 'chat.completion.chunk', created: this.created, model: this.model,
        choices: [], usage: usageToOpenAI(this.lastUsage),
      }
      this.out += 'data: ' + JSON.stringify(last) + '\n\n'
    }
    this.out += 'data: [DONE]\n\n'
  }

  private ensureStarted(): void {
    if (!this.started) this.start({})
  }

  substantive = false

  private chunk(delta: OpenAIChunkDelta, finish: OpenAIChunk['choices'][number]['finish_reason']): void {
    if (delta.role === undefined) this.substantive = true
    const c: OpenAIChunk = {
      id: this.id!, object: 'chat.completion.chunk', created: this.created, model: this.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    }
    if (this.includeUsage) c.usage = null
    this.out += 'data: ' + JSON.stringify(c) + '\n\n'
  }
}

export function createOpenAISseWriter(opts?: OpenAIWriterOptions): OpenAISseWriter {
  return new OpenAISseWriter(opts)
}
