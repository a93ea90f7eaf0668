/** OpenAI Chat Completions → canonical: whole responses and the chunk stream. */
import type { SseEvent } from '../sse/sse-parser.js'
import type { CanonicalPart, CanonicalResponse, StreamSink } from './canonical.js'
import type { NormalizedUsage, OpenAIChatResponse, OpenAIChunk } from './types.js'
import type { UpstreamReader } from './stream-reader.js'
import { parseEventJson } from './stream-reader.js'
import { stopFromOpenAI } from './stop-reason.js'
import { usageFromOpenAI } from './usage.js'
import { randomId } from './ids.js'

export function fromOpenAIResponse(res: OpenAIChatResponse): CanonicalResponse {
  const choice = res.choices?.[0]
  const msg = choice?.message
  const parts: CanonicalPart[] = []
  const text = typeof msg?.content === 'string' ? msg.content : msg?.refusal ?? ''
  if (text) parts.push({ type: 'text', text })
  for (const tc of msg?.tool_calls ?? []) {
    parts.push({ type: 'tool_call', id: tc.id, name: tc.function.name, arguments: tc.function.arguments ?? '' })
  }
  const out: CanonicalResponse = {
    id: res.id,
    model: res.model,
    created: res.created,
    parts,
    stop: stopFromOpenAI(choice?.finish_reason),
    usage: usageFromOpenAI(res.usage),
  }
  const reasoning = (msg as { reasoning_content?: unknown } | undefined)?.reasoning_content
  if (typeof reasoning === 'string' && reasoning) out.reasoning = reasoning
  return out
}

interface PendingTool {
  canonical: number
  started: boolean
  id?: string
  name?: string
  args: string
}

/**
 * Reads `data: {chunk}` events up to `data: [DONE]`. Only choice 0 is read (translated requests
 * never ask for n > 1). Tool calls are keyed by their `index`; a call is announced once its id
 * and name are known, since some OpenAI-compatible servers split those across deltas.
 */
export class OpenAIStreamReader implements UpstreamReader<SseEvent | OpenAIChunk> {
  private readonly tools = new Map<number, PendingTool>()
  private lastUsage: NormalizedUsage = { inputTokens: 0, outputTokens: 0 }
  private started = false

  constructor(private readonly sink: StreamSink) {}

  read(input: SseEvent | OpenAIChunk): void {
    let chunk: OpenAIChunk | { error?: { message?: string; code?: unknown; type?: string } } | undefined
    if ('data' in input && typeof input.data === 'string') {
      if (input.data === '[DONE]') return
      chunk = parseEventJson(input as SseEvent, this.fail)
    } else chunk = input as OpenAIChunk
    if (!chunk) return
    const sink = this.sink
    if ('error' in chunk && chunk.error && !('choices' in chunk)) {
      const code = chunk.error.code
      sink.error({ status: typeof code === 'number' ? code : 500, message: chunk.error.message ?? 'upstream error' })
      return
    }
    const c = chunk as OpenAIChunk
    if (!this.started) {
      this.started = true
      sink.start({ id: c.id, model: c.model })
    }
    if (c.usage) {
      this.lastUsage = usageFromOpenAI(c.usage)
      sink.usage(this.lastUsage)
    }
    const choice = c.choices?.[0]
    if (!choice) return
    const d = choice.delta
    if (d) {
      const reasoning = (d as { reasoning_content?: unknown; reasoning?: unknown }).reasoning_content ?? (d as { reasoning?: unknown }).reasoning
      if (typeof reasoning === 'string' && reasoning) sink.reasoning(reasoning)
      if (typeof d.content === 'string' && d.content) sink.text(d.content)
      if (typeof d.refusal === 'string' && d.refusal) sink.text(d.refusal)
      if (d.tool_calls) for (const tc of d.tool_calls) this.toolDelta(tc.index ?? 0, tc.id, tc.function?.name, tc.function?.arguments)
    }
    if (choice.finish_reason) {
      this.flushUnstarted()
      sink.finish(stopFromOpenAI(choice.finish_reason))
    }
  }

  end(): void {}

  usage(): NormalizedUsage {
    return this.lastUsage
  }

  private toolDelta(index: number, id: string | undefined, name: string | undefined, args: string | undefined): void {
    let t = this.tools.get(index)
    if (!t) {
      t = { canonical: this.tools.size, started: false, args: '' }
      this.tools.set(index, t)
    }
    if (id) t.id = id
    if (name && !t.name) t.name = name
    if (!t.started && t.id && t.name) {
      t.started = true
      this.sink.toolStart(t.canonical, t.id, t.name)
      if (t.args) {
        this.sink.toolArgs(t.canonical, t.args)
        t.args = ''
      }
    }
    if (args) {
      if (t.started) this.sink.toolArgs(t.canonical, args)
      else t.args += args
    }
  }

  /** A call whose id never came still has to reach the client. */
  private flushUnstarted(): void {
    for (const t of this.tools.values()) {
      if (t.started) continue
      t.started = true
      this.sink.toolStart(t.canonical, t.id ?? randomId('call_'), t.name ?? '')
      if (t.args) this.sink.toolArgs(t.canonical, t.args)
    }
  }

  private readonly fail = (message: string) => this.sink.error({ status: 502, message })
}
