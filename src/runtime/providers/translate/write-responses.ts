/**
 * Canonical → OpenAI Responses API: the whole `response` object and the SSE event writer.
 *
 * Output items, in the order the upstream produced them: a `reasoning` item (the upstream's
 * thinking, as a summary: what Anthropic and Gemini return is already summarized), `message` items
 * with one `output_text` part, `function_call` items. Reasoning is shown as `summary_text`
 * because a translated turn has no `encrypted_content` to send back.
 */
import type { CanonicalResponse, SseWriter, StopReason, StreamFailure } from './canonical.js'
import type { NormalizedUsage, ResponsesItemStatus, ResponsesOutputItem, ResponsesOutputText, ResponsesResponse } from './types.js'
import {
  finalStatus, functionCallItemId, messageItemId, reasoningItemId, responseErrorCode, responsesEnvelope, usageToResponses,
  type ResponsesObjectOptions,
} from './responses-envelope.js'
import { openAIErrorType, responsesErrorFields } from '../../errors.js'

export interface ResponsesWriterOptions extends ResponsesObjectOptions {
  /** Emit the upstream's reasoning as a reasoning item with a summary. Default true. */
  emitReasoning?: boolean
}

type MessageItem = Extract<ResponsesOutputItem, { type: 'message' }>
type ReasoningItem = Extract<ResponsesOutputItem, { type: 'reasoning' }>
type FunctionCallItem = Extract<ResponsesOutputItem, { type: 'function_call' }>

const outputText = (text: string): ResponsesOutputText => ({ type: 'output_text', text, annotations: [], logprobs: [] })

export function toResponsesResponse(r: CanonicalResponse, opts: ResponsesWriterOptions = {}): ResponsesResponse {
  const res = responsesEnvelope(opts.model ?? r.model, { ...opts, createdAt: opts.createdAt ?? r.created })
  const { status, incomplete_details } = finalStatus(r.stop)
  const itemStatus: ResponsesItemStatus = status === 'completed' ? 'completed' : 'incomplete'
  const out = res.output
  if (r.reasoning && opts.emitReasoning !== false) out.push({ type: 'reasoning', id: reasoningItemId(), summary: [{ type: 'summary_text', text: r.reasoning }] })
  for (const p of r.parts) {
    if (p.type === 'text') {
      if (!p.text) continue
      const last = out[out.length - 1]
      if (last?.type === 'message') last.content[0]!.text += p.text
      else out.push({ type: 'message', id: messageItemId(), role: 'assistant', status: itemStatus, content: [outputText(p.text)] })
    } else {
      out.push({ type: 'function_call', id: functionCallItemId(), call_id: p.id, name: p.name, arguments: p.arguments, status: 'completed' })
    }
  }
  res.status = status
  res.incomplete_details = incomplete_details
  res.usage = usageToResponses(r.usage)
  return res
}

/** Output that arrived while a tool call was streaming, replayed in order once it is done. */
type Held = { kind: 'tool'; index: number } | { kind: 'text' | 'reasoning'; text: string }

interface ToolState {
  callId: string
  name: string
  /** Arguments received while the call waited for its turn. */
  held: string
  /** Output index once the item is opened; -1 while it waits. */
  out: number
  ended: boolean
  closed: boolean
}

/**
 * Writes `event: <type>\ndata: {"type":…,"sequence_number":n,…}` frames, in OpenAI's order:
 * response.created, response.in_progress, then per item output_item.added, its parts and deltas,
 * output_item.done, and last response.completed (or response.incomplete) with the whole response
 * and its usage. Items follow one another, each complete before the next begins. An OpenAI upstream
 * may interleave several tool calls' argument deltas and never says when one is complete, so one
 * call streams live and whatever starts meanwhile (another call, text, reasoning) is held and
 * written, in arrival order, when the live call ends or the turn finishes (as the Anthropic
 * writer does with tool calls).
 *
 * An upstream error becomes `response.failed` (the response, status failed, with `error`) and then
 * an `error` event. The error event carries its fields both flat (as the API reference documents)
 * and nested under `error` (as the live API sends them): the nested object is what makes the
 * official SDKs throw instead of yielding the event as data.
 */
export class ResponsesSseWriter implements SseWriter {
  /** What the upstream said (for telemetry): the model of its first event, the last finish. */
  upstreamModel: string | undefined = undefined
  stopReason: StopReason | undefined = undefined
  private out = ''
  private seq = 0
  private response: ResponsesResponse | undefined
  private model: string
  private readonly emitReasoning: boolean
  private started = false
  private done = false
  private stop: StopReason | undefined
  /** The text or reasoning item receiving deltas. */
  private open: number | undefined
  private readonly tools: ToolState[] = []
  /** The tool call streaming its arguments; while it is open, later output waits in `held`. */
  private live: number | undefined
  private readonly held: Held[] = []
  private lastUsage: NormalizedUsage = { inputTokens: 0, outputTokens: 0 }

  failure: StreamFailure | undefined
  substantive = false

  constructor(private readonly opts: ResponsesWriterOptions = {}) {
    this.model = opts.model ?? ''
    this.emitReasoning = opts.emitReasoning !== false
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
    if (!this.opts.model && meta.model) this.model = meta.model
    this.response = responsesEnvelope(this.model, this.opts)
    this.event('response.created', { response: this.response })
    this.event('response.in_progress', { response: this.response })
  }

  text(text: string): void {
    if (!text || this.done || this.stop) return
    this.ensureStarted()
    if (this.live !== undefined) this.hold('text', text)
    else this.writeText(text)
  }

  reasoning(text: string): void {
    if (!text || this.done || this.stop || !this.emitReasoning) return
    this.ensureStarted()
    if (this.live !== undefined) this.hold('reasoning', text)
    else this.writeReasoning(text)
  }

  toolStart(index: number, id: string, name: string): void {
    if (this.done || this.stop) return
    this.ensureStarted()
    this.tools[index] = { callId: id, name, held: '', out: -1, ended: false, closed: false }
    if (this.live !== undefined) {
      this.held.push({ kind: 'tool', index })
      return
    }
    this.closeOpen()
    this.openTool(index)
  }

  toolArgs(index: number, fragment: string): void {
    const t = this.tools[index]
    // After the call's item is done its arguments are final: the upstream said so, or the turn ended.
    if (!t || !fragment || this.done || t.closed) return
    if (t.out === -1) {
      t.held += fragment
      return
    }
    const item = this.item(t.out) as FunctionCallItem
    item.arguments += fragment
    this.event('response.function_call_arguments.delta', { item_id: item.id, output_index: t.out, delta: fragment })
  }

  toolEnd(index: number): void {
    const t = this.tools[index]
    if (!t || this.done) return
    t.ended = true
    if (this.live === index) this.release(false)
  }

  finish(reason: StopReason): void {
    this.stopReason = reason
    if (this.done || this.stop) return
    this.ensureStarted()
    this.stop = reason
    const status: ResponsesItemStatus = finalStatus(reason).status === 'completed' ? 'completed' : 'incomplete'
    this.release(true, status)
    this.closeOpen(status)
  }

  usage(u: NormalizedUsage): void {
    this.lastUsage = u
  }

  error(f: StreamFailure): void {
    if (this.done) return
    this.ensureStarted()
    this.done = true
    this.failure = f
    const res = this.response!
    for (const item of res.output) if (item.status === 'in_progress') item.status = 'incomplete'
    const code = responseErrorCode(f.status)
    res.status = 'failed'
    res.error = { code, message: f.message }
    res.usage = usageToResponses(this.lastUsage)
    this.event('response.failed', { response: res })
    this.event('error', responsesErrorFields(openAIErrorType(f.status), code, f.message))
  }

  close(): void {
    if (this.done) return
    if (!this.stop) {
      this.error({ status: 502, message: 'upstream stream ended before the response was complete' })
      return
    }
    this.done = true
    const res = this.response!
    const { status, incomplete_details } = finalStatus(this.stop)
    res.status = status
    res.incomplete_details = incomplete_details
    res.usage = usageToResponses(this.lastUsage)
    this.event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: res })
  }

  // ------------------------------------------------------------ items

  private item(index: number): ResponsesOutputItem {
    return this.response!.output[index]!
  }

  private openItem(): ResponsesOutputItem | undefined {
    return this.open === undefined ? undefined : this.item(this.open)
  }

  /** Appends an item and announces it; text and reasoning items become the open one. */
  private add(item: ResponsesOutputItem): number {
    const index = this.response!.output.length
    this.event('response.output_item.added', { output_index: index, item })
    this.response!.output.push(item)
    if (item.type !== 'function_call') this.open = index
    return index
  }

  private closeOpen(status: ResponsesItemStatus = 'completed'): void {
    const index = this.open
    if (index === undefined) return
    this.open = undefined
    const item = this.item(index) as MessageItem | ReasoningItem
    if (item.type === 'message') {
      const part = item.content[0]!
      this.event('response.output_text.done', { item_id: item.id, output_index: index, content_index: 0, text: part.text, logprobs: [] })
      this.event('response.content_part.done', { item_id: item.id, output_index: index, content_index: 0, part })
      item.status = status
    } else {
      const part = item.summary[0]!
      this.event('response.reasoning_summary_text.done', { item_id: item.id, output_index: index, summary_index: 0, text: part.text })
      this.event('response.reasoning_summary_part.done', { item_id: item.id, output_index: index, summary_index: 0, part })
    }
    this.event('response.output_item.done', { output_index: index, item })
  }

  private openTool(index: number): void {
    const t = this.tools[index]!
    const item: FunctionCallItem = { type: 'function_call', id: functionCallItemId(), call_id: t.callId, name: t.name, arguments: '', status: 'in_progress' }
    t.out = this.add(item)
    this.live = index
    if (t.held) {
      const held = t.held
      t.held = ''
      this.toolArgs(index, held)
    }
  }

  /**
   * Closes the live call, then writes what arrived meanwhile, in order. A waiting call becomes the
   * live one and stops the replay, unless it has ended too or `all` is set (the turn is over).
   */
  private release(all: boolean, status: ResponsesItemStatus = 'completed'): void {
    while (this.live !== undefined) {
      this.closeTool(this.live, status)
      this.live = undefined
      let h: Held | undefined
      while ((h = this.held.shift()) !== undefined) {
        if (h.kind !== 'tool') {
          if (h.kind === 'text') this.writeText(h.text)
          else this.writeReasoning(h.text)
          continue
        }
        this.closeOpen()
        this.openTool(h.index)
        if (!all && !this.tools[h.index]!.ended) return
        break
      }
    }
  }

  private writeText(text: string): void {
    let item = this.openItem()
    if (item?.type !== 'message') {
      this.closeOpen()
      item = { type: 'message', id: messageItemId(), role: 'assistant', status: 'in_progress', content: [] }
      const index = this.add(item)
      const part = outputText('')
      this.event('response.content_part.added', { item_id: item.id, output_index: index, content_index: 0, part })
      item.content.push(part)
    }
    item.content[0]!.text += text
    this.event('response.output_text.delta', { item_id: item.id, output_index: this.open, content_index: 0, delta: text, logprobs: [] })
  }

  private writeReasoning(text: string): void {
    let item = this.openItem()
    if (item?.type !== 'reasoning') {
      this.closeOpen()
      item = { type: 'reasoning', id: reasoningItemId(), summary: [] }
      const index = this.add(item)
      const part = { type: 'summary_text' as const, text: '' }
      this.event('response.reasoning_summary_part.added', { item_id: item.id, output_index: index, summary_index: 0, part })
      item.summary.push(part)
    }
    item.summary[0]!.text += text
    this.event('response.reasoning_summary_text.delta', { item_id: item.id, output_index: this.open, summary_index: 0, delta: text })
  }

  private hold(kind: 'text' | 'reasoning', text: string): void {
    const last = this.held[this.held.length - 1]
    if (last !== undefined && last.kind !== 'tool' && last.kind === kind) last.text += text
    else this.held.push({ kind, text })
  }

  private closeTool(index: number, status: ResponsesItemStatus): void {
    const t = this.tools[index]!
    t.closed = true
    const item = this.item(t.out) as FunctionCallItem
    item.status = status
    this.event('response.function_call_arguments.done', { item_id: item.id, output_index: t.out, name: item.name, arguments: item.arguments })
    this.event('response.output_item.done', { output_index: t.out, item })
  }

  private ensureStarted(): void {
    if (!this.started) this.start({})
  }

  private event(type: string, body: Record<string, unknown>): void {
    if (type !== 'response.created' && type !== 'response.in_progress' && type !== 'response.failed' && type !== 'error') this.substantive = true
    this.out += 'event: ' + type + '\ndata: ' + JSON.stringify({ type, sequence_number: this.seq++, ...body }) + '\n\n'
  }
}
