/** Gemini generateContent → canonical: whole responses and the streamGenerateContent?alt=sse stream. */
import type { SseEvent } from '../sse/sse-parser.js'
import type { CanonicalPart, CanonicalResponse, StreamSink } from './canonical.js'
import type { GeminiResponse, NormalizedUsage } from './types.js'
import type { UpstreamReader } from './stream-reader.js'
import { parseEventJson } from './stream-reader.js'
import { stopFromGemini } from './stop-reason.js'
import { usageFromGemini } from './usage.js'
import { randomId } from './ids.js'

/** Gemini 2.5+ may send a call id; older models do not, and OpenAI callers need one. */
function callId(id: string | undefined): string {
  return id ? id : randomId('call_')
}

export function fromGeminiResponse(res: GeminiResponse, opts: { model?: string } = {}): CanonicalResponse {
  const cand = res.candidates?.[0]
  const parts: CanonicalPart[] = []
  let reasoning = ''
  let toolCalls = 0
  for (const p of cand?.content?.parts ?? []) {
    if (p.functionCall) {
      toolCalls++
      parts.push({ type: 'tool_call', id: callId(p.functionCall.id), name: p.functionCall.name, arguments: JSON.stringify(p.functionCall.args ?? {}) })
    } else if (typeof p.text === 'string') {
      if (p.thought) reasoning += p.text
      else parts.push({ type: 'text', text: p.text })
    }
  }
  // A prompt blocked by safety has no candidates, only promptFeedback.blockReason.
  const stop = !cand && res.promptFeedback?.blockReason ? 'content_filter' : stopFromGemini(cand?.finishReason, toolCalls > 0)
  const out: CanonicalResponse = {
    id: res.responseId ?? randomId(''),
    model: res.modelVersion ?? opts.model ?? '',
    parts,
    stop,
    usage: usageFromGemini(res.usageMetadata),
  }
  if (reasoning) out.reasoning = reasoning
  return out
}

/**
 * Each SSE event is a whole GenerateContentResponse holding the next slice: text parts are
 * deltas, function calls arrive complete (args as an object), usageMetadata is cumulative and the
 * last one counts, and finishReason comes on the final slice. There is no [DONE] sentinel.
 */
export class GeminiStreamReader implements UpstreamReader<SseEvent | GeminiResponse> {
  private started = false
  private tools = 0
  private finished = false
  private pendingStop: string | undefined
  private lastUsage: NormalizedUsage = { inputTokens: 0, outputTokens: 0 }

  constructor(private readonly sink: StreamSink, private readonly opts: { model?: string } = {}) {}

  read(input: SseEvent | GeminiResponse): void {
    const res: (GeminiResponse & { error?: { code?: number; message?: string } }) | undefined =
      'data' in input && typeof (input as SseEvent).data === 'string' ? parseEventJson(input as SseEvent, this.fail) : (input as GeminiResponse)
    if (!res) return
    const sink = this.sink
    if (res.error) {
      sink.error({ status: res.error.code ?? 500, message: res.error.message ?? 'upstream error' })
      return
    }
    // Usage first: the opening event of an Anthropic caller's stream carries input tokens.
    if (res.usageMetadata) {
      this.lastUsage = usageFromGemini(res.usageMetadata)
      sink.usage(this.lastUsage)
    }
    if (!this.started) {
      this.started = true
      sink.start({ id: res.responseId, model: res.modelVersion ?? this.opts.model })
    }
    const cand = res.candidates?.[0]
    for (const p of cand?.content?.parts ?? []) {
      if (p.functionCall) {
        const t = this.tools++
        sink.toolStart(t, callId(p.functionCall.id), p.functionCall.name)
        sink.toolArgs(t, JSON.stringify(p.functionCall.args ?? {}))
        sink.toolEnd(t)
      } else if (typeof p.text === 'string') {
        if (p.thought) sink.reasoning(p.text)
        else sink.text(p.text)
      }
    }
    if (!cand && res.promptFeedback?.blockReason) this.pendingStop = 'SAFETY'
    if (cand?.finishReason) this.pendingStop = cand.finishReason
    // Finish only once the slice is fully read: a STOP that ends in calls means tool_calls.
    if (this.pendingStop && !this.finished) {
      this.finished = true
      sink.finish(stopFromGemini(this.pendingStop, this.tools > 0))
    }
  }

  end(): void {}

  usage(): NormalizedUsage {
    return this.lastUsage
  }

  private readonly fail = (message: string) => this.sink.error({ status: 502, message })
}
