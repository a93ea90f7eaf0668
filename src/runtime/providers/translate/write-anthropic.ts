/** Canonical → Anthropic Messages: the whole-response builder and the SSE event writer. */
import type { CanonicalResponse, SseWriter, StopReason, StreamFailure } from './canonical.js'
import type { AnthropicContentBlock, AnthropicResponse, NormalizedUsage } from './types.js'
import { stopToAnthropic } from './stop-reason.js'
import { usageToAnthropic } from './usage.js'
import { randomId } from './ids.js'
import { anthropicErrorBody, anthropicErrorType } from '../../errors.js'

export interface AnthropicWriterOptions {
  /** The model name the caller asked for; defaults to the upstream's. */
  model?: string
  /** Message id; defaults to one derived from the upstream id. */
  id?: string
}

function messageId(upstreamId: string | undefined): string {
  return upstreamId ? (upstreamId.startsWith('msg_') ? upstreamId : 'msg_' + upstreamId) : randomId('msg_')
}

function parseToolInput(args: string): unknown {
  if (!args) return {}
  try {
    return JSON.parse(args)
  } catch {
    // Anthropic requires an object; keep the model's text rather than lose it.
    return { _raw_arguments: args }
  }
}

export function toAnthropicResponse(r: CanonicalResponse, opts: { model?: string } = {}): AnthropicResponse {
  const content: AnthropicContentBlock[] = []
  for (const p of r.parts) {
    if (p.type === 'text') {
      if (p.text) content.push({ type: 'text', text: p.text })
    } else {
      content.push({ type: 'tool_use', id: p.id, name: p.name, input: parseToolInput(p.arguments) })
    }
  }
  return {
    id: messageId(r.id),
    type: 'message',
    role: 'assistant',
    model: opts.model ?? r.model,
    content,
    stop_reason: stopToAnthropic(r.stop),
    stop_sequence: r.stop === 'stop_sequence' ? r.stopSequence ?? null : null,
    usage: usageToAnthropic(r.usage),
  }
}

interface ToolState {
  id: string
  name: string
  args: string
  /** Anthropic content-block index once the block is opened; -1 while buffered. */
  block: number
  ended: boolean
}

/**
 * Writes `event: <type>\ndata: <json>` frames. Anthropic content blocks are strictly sequential
 * (start, deltas, stop), but an OpenAI upstream may interleave several tool calls' argument
 * deltas and never says when one is complete. So one tool block streams live; a second tool call
 * that starts before the live one is known to be complete is buffered and emitted whole once the
 * turn finishes. Upstreams that report block ends (Anthropic, Bedrock) stream every tool live.
 * message_delta and message_stop wait for close(), because usage often arrives after the stop reason.
 */
export class AnthropicSseWriter implements SseWriter {
  /** What the upstream said (for telemetry): the model of its first event, the last finish. */
  upstreamModel: string | undefined = undefined
  stopReason: StopReason | undefined = undefined
  private out = ''
  private id: string | undefined
  private model: string
  private started = false
  private done = false
  private nextBlock = 0
  private open: { kind: 'text' | 'tool'; block: number; tool?: number } | undefined
  private readonly tools: ToolState[] = []
  private readonly pending: number[] = [] // buffered tool indexes, in arrival order
  private stop: StopReason | undefined
  private stopSequence: string | null = null
  private lastUsage: NormalizedUsage = { inputTokens: 0, outputTokens: 0 }

  constructor(private readonly opts: AnthropicWriterOptions = {}) {
    this.id = opts.id
    this.model = opts.model ?? ''
  }

  take(): string {
    const s = this.out
    this.out = ''
    return s
  }

  start(meta: { id?: string; model?: string }): void {
    this.upstreamModel ??= meta.model
    if (this.started) return
    this.started = true
    if (!this.id) this.id = messageId(meta.id)
    if (!this.opts.model && meta.model) this.model = meta.model
    const u = usageToAnthropic(this.lastUsage)
    this.event('message_start', {
      type: 'message_start',
      message: {
        id: this.id, type: 'message', role: 'assistant', model: this.model, content: [],
        stop_reason: null, stop_sequence: null, usage: u,
      },
    })
  }

  text(text: string): void {
    if (!text || this.done || this.stop) return
    this.ensureStarted()
    if (this.open?.kind !== 'text') {
      this.closeOpen()
      const block = this.nextBlock++
      this.open = { kind: 'text', block }
      this.event('content_block_start', { type: 'content_block_start', index: block, content_block: { type: 'text', text: '' } })
    }
    this.event('content_block_delta', { type: 'content_block_delta', index: this.open.block, delta: { type: 'text_delta', text } })
  }

  reasoning(): void {
    // Thinking blocks need an Anthropic signature to be sent back; a translated turn has none.
  }

  toolStart(index: number, id: string, name: string): void {
    if (this.done || this.stop) return
    this.ensureStarted()
    this.tools[index] = { id, name, args: '', block: -1, ended: false }
    const live = this.open?.kind === 'tool' ? this.tools[this.open.tool!] : undefined
    if (live && !live.ended) {
      this.pending.push(index)
      return
    }
    this.openTool(index)
  }

  toolArgs(index: number, fragment: string): void {
    const t = this.tools[index]
    if (!t || !fragment || this.done) return
    if (this.open?.kind === 'tool' && this.open.tool === index) {
      this.event('content_block_delta', {
        type: 'content_block_delta', index: t.block, delta: { type: 'input_json_delta', partial_json: fragment },
      })
    } else {
      t.args += fragment
    }
  }

  toolEnd(index: number): void {
    const t = this.tools[index]
    if (!t) return
    t.ended = true
    if (this.open?.kind === 'tool' && this.open.tool === index) this.closeOpen()
    // A buffered call can go live now.
    while (!this.open && this.pending.length) this.openTool(this.pending.shift()!)
  }

  finish(reason: StopReason, stopSequence?: string | null): void {
    this.stopReason = reason
    if (this.done || this.stop) return
    this.ensureStarted()
    this.stop = reason
    this.stopSequence = stopSequence ?? null
    this.closeOpen()
    for (const i of this.pending) {
      this.openTool(i)
      this.closeOpen()
    }
    this.pending.length = 0
  }

  usage(u: NormalizedUsage): void {
    this.lastUsage = u
  }

  failure: StreamFailure | undefined

  error(f: StreamFailure): void {
    if (this.done) return
    this.done = true
    this.failure = f
    this.event('error', anthropicErrorBody(anthropicErrorType(f.status), f.message))
  }

  close(): void {
    if (this.done) return
    if (!this.stop) {
      this.error({ status: 502, message: 'upstream stream ended before the response was complete' })
      return
    }
    this.done = true
    const u = usageToAnthropic(this.lastUsage)
    this.event('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopToAnthropic(this.stop), stop_sequence: this.stop === 'stop_sequence' ? this.stopSequence : null },
      usage: u,
    })
    this.event('message_stop', { type: 'message_stop' })
  }

  private openTool(index: number): void {
    const t = this.tools[index]!
    this.closeOpen()
    t.block = this.nextBlock++
    this.open = { kind: 'tool', block: t.block, tool: index }
    this.event('content_block_start', {
      type: 'content_block_start', index: t.block, content_block: { type: 'tool_use', id: t.id, name: t.name, input: {} },
    })
    if (t.args) {
      this.event('content_block_delta', {
        type: 'content_block_delta', index: t.block, delta: { type: 'input_json_delta', partial_json: t.args },
      })
      t.args = ''
    }
  }

  private closeOpen(): void {
    if (!this.open) return
    this.event('content_block_stop', { type: 'content_block_stop', index: this.open.block })
    this.open = undefined
  }

  private ensureStarted(): void {
    if (!this.started) this.start({})
  }

  substantive = false

  private event(name: string, body: unknown): void {
    if (name !== 'message_start' && name !== 'ping') this.substantive = true
    this.out += 'event: ' + name + '\ndata: ' + JSON.stringify(body) + '\n\n'
  }
}

export function createAnthropicSseWriter(opts?: AnthropicWriterOptions): AnthropicSseWriter {
  return new AnthropicSseWriter(opts)
}
