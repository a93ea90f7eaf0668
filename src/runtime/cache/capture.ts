/**
 * Turns the answer a client received (the bytes the filters' onChunk saw, in the caller's protocol)
 * into a cache entry — or refuses: only a complete success is kept. A whole JSON answer must parse
 * and have its operation's success shape; a stream must end with its protocol's end marker
 * (`data: [DONE]`, `message_stop`) with a finish reason and no error event on the way. Whether the
 * request itself ended well (2xx, client still there, no stream recovery) is the filter's check.
 */
import { SseParser } from '../providers/sse/sse-parser.js'
import type { CanonicalPart, CanonicalResponse, StopReason, StreamFailure, StreamSink } from '../providers/translate/canonical.js'
import { fromAnthropicResponse } from '../providers/translate/read-anthropic.js'
import { fromOpenAIResponse } from '../providers/translate/read-openai.js'
import { AnthropicStreamReader } from '../providers/translate/read-anthropic.js'
import { OpenAIStreamReader } from '../providers/translate/read-openai.js'
import type { NormalizedUsage } from '../providers/translate/types.js'
import type { CacheOperation } from './key.js'
import { responseOfStream } from './responses-stream.js'

export interface TurnAnswer {
  readonly kind: 'turn'
  readonly response: CanonicalResponse
}

export interface JsonAnswer {
  readonly kind: 'json'
  /** The body as the caller received it. */
  readonly body: string
}

/** The answer to keep, or undefined when it is not a complete success. */
export function answerOf(op: CacheOperation, streamed: boolean, body: Buffer): TurnAnswer | JsonAnswer | undefined {
  if (op === 'embeddings' || op === 'responses') {
    if (streamed) {
      // A Responses stream is kept as the response object its response.completed carried.
      const response = op === 'responses' ? responseOfStream(body) : undefined
      return response === undefined ? undefined : { kind: 'json', body: response }
    }
    const doc = parseJson(body)
    const ok = op === 'embeddings' ? Array.isArray(doc?.data) : doc?.object === 'response' && doc?.status === 'completed'
    return ok ? { kind: 'json', body: body.toString('utf8') } : undefined
  }
  // The body's format follows the operation (an Anthropic listener may serve chat completions too).
  const protocol = op === 'messages' ? 'anthropic' : 'openai'
  const response = streamed ? turnOfStream(protocol, body) : turnOfJson(protocol, body)
  return response === undefined ? undefined : { kind: 'turn', response }
}

function parseJson(body: Buffer): any {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
}

function turnOfJson(protocol: 'openai' | 'anthropic', body: Buffer): CanonicalResponse | undefined {
  const doc = parseJson(body)
  if (doc === null || typeof doc !== 'object') return undefined
  if (protocol === 'openai') {
    const choice = doc.choices?.[0]
    if (doc.object !== 'chat.completion' || choice?.message === undefined || typeof choice.finish_reason !== 'string') return undefined
    return fromOpenAIResponse(doc)
  }
  if (doc.type !== 'message' || !Array.isArray(doc.content) || typeof doc.stop_reason !== 'string') return undefined
  return fromAnthropicResponse(doc)
}

function turnOfStream(protocol: 'openai' | 'anthropic', body: Buffer): CanonicalResponse | undefined {
  const sink = new TurnCollector()
  const reader = protocol === 'openai' ? new OpenAIStreamReader(sink) : new AnthropicStreamReader(sink)
  const parser = new SseParser()
  let ended = false
  for (const ev of parser.push(body)) {
    if (ended) return undefined // nothing may follow the end marker
    if (protocol === 'openai' ? ev.data === '[DONE]' : ev.event === 'message_stop') ended = true
    if (protocol === 'anthropic' && ev.event === 'error') return undefined
    reader.read(ev)
    if (sink.failed) return undefined
  }
  if (!ended || parser.pendingChars > 0) return undefined
  return sink.result()
}

/** A StreamSink that assembles the canonical turn a stream carried. */
class TurnCollector implements StreamSink {
  failed = false
  private id = ''
  private model = ''
  private readonly parts: CanonicalPart[] = []
  private readonly tools: (CanonicalPart & { type: 'tool_call' })[] = []
  private reasoningText = ''
  private stop: StopReason | undefined
  private stopSequence: string | null | undefined
  private lastUsage: NormalizedUsage = { inputTokens: 0, outputTokens: 0 }

  start(meta: { id?: string; model?: string }): void {
    this.id = meta.id ?? ''
    this.model = meta.model ?? ''
  }
  text(text: string): void {
    const last = this.parts[this.parts.length - 1]
    if (last?.type === 'text') last.text += text
    else this.parts.push({ type: 'text', text })
  }
  reasoning(text: string): void {
    this.reasoningText += text
  }
  toolStart(index: number, id: string, name: string): void {
    const t = { type: 'tool_call' as const, id, name, arguments: '' }
    this.tools[index] = t
    this.parts.push(t)
  }
  toolArgs(index: number, fragment: string): void {
    const t = this.tools[index]
    if (t === undefined) this.failed = true
    else t.arguments += fragment
  }
  toolEnd(): void {}
  finish(reason: StopReason, stopSequence?: string | null): void {
    this.stop = reason
    this.stopSequence = stopSequence
  }
  usage(usage: NormalizedUsage): void {
    this.lastUsage = usage
  }
  error(_f: StreamFailure): void {
    this.failed = true
  }
  close(): void {}

  result(): CanonicalResponse | undefined {
    if (this.failed || this.stop === undefined) return undefined
    const r: CanonicalResponse = { id: this.id, model: this.model, parts: this.parts, stop: this.stop, usage: this.lastUsage }
    if (this.stopSequence !== undefined) r.stopSequence = this.stopSequence
    if (this.reasoningText) r.reasoning = this.reasoningText
    return r
  }
}
