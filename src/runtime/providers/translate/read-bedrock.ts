/** Bedrock Converse → canonical: whole responses and ConverseStream events. */
import type { CanonicalPart, CanonicalResponse, StreamSink } from './canonical.js'
import type { BedrockResponse, BedrockStreamEvent, NormalizedUsage } from './types.js'
import type { UpstreamReader } from './stream-reader.js'
import type { EventStreamMessage } from './aws-event-stream.js'
import { headerString } from './aws-event-stream.js'
import { stopFromBedrock } from './stop-reason.js'
import { usageFromBedrock } from './usage.js'
import { statusOfBedrockException } from './provider-errors.js'
import { randomId } from './ids.js'

export function fromBedrockResponse(res: BedrockResponse, opts: { model?: string; id?: string } = {}): CanonicalResponse {
  const parts: CanonicalPart[] = []
  let reasoning = ''
  for (const b of res.output?.message?.content ?? []) {
    if ('text' in b) parts.push({ type: 'text', text: b.text })
    else if ('toolUse' in b) parts.push({ type: 'tool_call', id: b.toolUse.toolUseId, name: b.toolUse.name, arguments: JSON.stringify(b.toolUse.input ?? {}) })
    else if ('reasoningContent' in b) reasoning += b.reasoningContent.reasoningText?.text ?? ''
  }
  const out: CanonicalResponse = {
    id: opts.id ?? randomId(''),
    model: opts.model ?? '',
    parts,
    stop: stopFromBedrock(res.stopReason),
    usage: usageFromBedrock(res.usage),
  }
  if (reasoning) out.reasoning = reasoning
  return out
}

/**
 * Turns a decoded event-stream message into a typed event: `:message-type` is `event` (with
 * `:event-type`) or `exception` (with `:exception-type`); the payload is the event's JSON body.
 */
export function bedrockEventFromMessage(msg: EventStreamMessage): BedrockStreamEvent | undefined {
  let body: any
  try {
    body = msg.payload.length ? JSON.parse(msg.payload.toString('utf8')) : {}
  } catch {
    body = { message: msg.payload.toString('utf8').slice(0, 200) }
  }
  const messageType = headerString(msg, ':message-type')
  if (messageType === 'exception' || messageType === 'error') {
    const exceptionType = headerString(msg, ':exception-type') ?? headerString(msg, ':error-code') ?? 'internalServerException'
    return { type: 'exception', exceptionType, body: { message: body?.message ?? headerString(msg, ':error-message') } }
  }
  const type = headerString(msg, ':event-type')
  return type ? ({ type, body } as BedrockStreamEvent) : undefined
}

/**
 * Reads messageStart, contentBlockStart/Delta/Stop, messageStop, metadata. Text blocks have no
 * contentBlockStart; tool blocks announce id and name there and stream `input` as JSON text.
 * Usage arrives in the final metadata event, after messageStop.
 */
export class BedrockStreamReader implements UpstreamReader<EventStreamMessage | BedrockStreamEvent> {
  private readonly toolOfBlock = new Map<number, number>()
  private tools = 0
  private started = false
  private lastUsage: NormalizedUsage = { inputTokens: 0, outputTokens: 0 }

  constructor(private readonly sink: StreamSink, private readonly opts: { model?: string; id?: string } = {}) {}

  read(input: EventStreamMessage | BedrockStreamEvent): void {
    const ev = 'headers' in input ? bedrockEventFromMessage(input) : input
    if (!ev) return
    const sink = this.sink
    if (ev.type === 'exception') {
      sink.error({ status: statusOfBedrockException(ev.exceptionType), message: ev.body.message ?? ev.exceptionType })
      return
    }
    if (!this.started) {
      this.started = true
      sink.start({ id: this.opts.id, model: this.opts.model })
    }
    switch (ev.type) {
      case 'contentBlockStart': {
        const tu = ev.body.start?.toolUse
        if (tu) {
          const t = this.tools++
          this.toolOfBlock.set(ev.body.contentBlockIndex, t)
          sink.toolStart(t, tu.toolUseId, tu.name)
        }
        break
      }
      case 'contentBlockDelta': {
        const d = ev.body.delta ?? {}
        if (typeof d.text === 'string') sink.text(d.text)
        else if (d.toolUse) {
          const t = this.toolOfBlock.get(ev.body.contentBlockIndex)
          if (t !== undefined) sink.toolArgs(t, d.toolUse.input ?? '')
        } else if (d.reasoningContent?.text) sink.reasoning(d.reasoningContent.text)
        break
      }
      case 'contentBlockStop': {
        const t = this.toolOfBlock.get(ev.body.contentBlockIndex)
        if (t !== undefined) sink.toolEnd(t)
        break
      }
      case 'messageStop':
        sink.finish(stopFromBedrock(ev.body.stopReason))
        break
      case 'metadata':
        this.lastUsage = usageFromBedrock(ev.body.usage)
        sink.usage(this.lastUsage)
        break
      default:
        break // messageStart, and event types added after this was written
    }
  }

  end(): void {}

  usage(): NormalizedUsage {
    return this.lastUsage
  }
}
