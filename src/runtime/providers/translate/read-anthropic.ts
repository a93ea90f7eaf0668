/** Anthropic Messages → canonical: whole responses and the SSE event stream. */
import type { SseEvent } from '../sse/sse-parser.js'
import type { CanonicalPart, CanonicalResponse, StreamSink } from './canonical.js'
import type { AnthropicResponse, AnthropicStreamEvent, AnthropicUsage, NormalizedUsage } from './types.js'
import type { UpstreamReader } from './stream-reader.js'
import { parseEventJson } from './stream-reader.js'
import { stopFromAnthropic } from './stop-reason.js'
import { usageFromAnthropic } from './usage.js'
import { statusOfAnthropicErrorType } from './provider-errors.js'

export function fromAnthropicResponse(res: AnthropicResponse): CanonicalResponse {
  const parts: CanonicalPart[] = []
  let reasoning = ''
  for (const b of res.content ?? []) {
    if (b.type === 'text') parts.push({ type: 'text', text: b.text })
    else if (b.type === 'tool_use') parts.push({ type: 'tool_call', id: b.id, name: b.name, arguments: JSON.stringify(b.input ?? {}) })
    else if (b.type === 'thinking') reasoning += b.thinking
  }
  const out: CanonicalResponse = {
    id: res.id,
    model: res.model,
    parts,
    stop: stopFromAnthropic(res.stop_reason),
    stopSequence: res.stop_sequence ?? null,
    usage: usageFromAnthropic(res.usage),
  }
  if (reasoning) out.reasoning = reasoning
  return out
}

/**
 * Reads `message_start … message_stop`. Anthropic numbers content blocks across text and tools;
 * the sink wants tool numbers, so block indexes of tool_use blocks are mapped to 0, 1, 2…
 * Usage starts in message_start and is completed (output, sometimes input) by message_delta.
 */
export class AnthropicStreamReader implements UpstreamReader<SseEvent | AnthropicStreamEvent> {
  private readonly toolOfBlock = new Map<number, number>()
  private tools = 0
  private raw: Partial<AnthropicUsage> = {}

  constructor(private readonly sink: StreamSink) {}

  read(input: SseEvent | AnthropicStreamEvent): void {
    const ev: AnthropicStreamEvent | undefined = 'data' in input ? parseEventJson(input, this.fail) : input
    if (!ev) return
    const sink = this.sink
    switch (ev.type) {
      case 'message_start':
        this.mergeUsage(ev.message?.usage)
        sink.start({ id: ev.message?.id, model: ev.message?.model })
        break
      case 'content_block_start': {
        const b = ev.content_block
        if (b.type === 'text') {
          if (b.text) sink.text(b.text)
        } else if (b.type === 'tool_use') {
          const t = this.tools++
          this.toolOfBlock.set(ev.index, t)
          sink.toolStart(t, b.id, b.name)
          const input = b.input as Record<string, unknown> | undefined
          if (input && Object.keys(input).length) sink.toolArgs(t, JSON.stringify(input))
        } else if (b.type === 'thinking') {
          if (b.thinking) sink.reasoning(b.thinking)
        }
        break
      }
      case 'content_block_delta': {
        const d = ev.delta
        if (d.type === 'text_delta') sink.text(d.text)
        else if (d.type === 'input_json_delta') {
          const t = this.toolOfBlock.get(ev.index)
          if (t !== undefined) sink.toolArgs(t, d.partial_json)
        } else if (d.type === 'thinking_delta') sink.reasoning(d.thinking)
        break
      }
      case 'content_block_stop': {
        const t = this.toolOfBlock.get(ev.index)
        if (t !== undefined) sink.toolEnd(t)
        break
      }
      case 'message_delta':
        this.mergeUsage(ev.usage)
        sink.usage(this.usage())
        if (ev.delta?.stop_reason) sink.finish(stopFromAnthropic(ev.delta.stop_reason), ev.delta.stop_sequence)
        break
      case 'message_stop':
        sink.usage(this.usage())
        break
      case 'error':
        sink.error({ status: statusOfAnthropicErrorType(ev.error?.type ?? 'api_error'), message: ev.error?.message ?? 'upstream error' })
        break
      default:
        break // ping, and event types added after this was written
    }
  }

  end(): void {}

  usage(): NormalizedUsage {
    return usageFromAnthropic(this.raw)
  }

  private mergeUsage(u: Partial<AnthropicUsage> | undefined): void {
    if (!u) return
    for (const k of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const) {
      const v = u[k]
      if (typeof v === 'number') this.raw[k] = v
    }
  }

  private readonly fail = (message: string) => this.sink.error({ status: 502, message })
}
