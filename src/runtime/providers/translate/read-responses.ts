/**
 * OpenAI Responses API → canonical: the `response` object and its SSE event stream, as an OpenAI
 * upstream answers `POST /v1/responses` in pass-through. The gateway never translates *from* a
 * Responses upstream (a Responses caller on another provider goes through chat); this reader is
 * what lets telemetry see those answers in the hub's one shape (tracing content capture).
 */
import type { SseEvent } from '../sse/sse-parser.js'
import type { CanonicalPart, CanonicalResponse, StopReason, StreamSink } from './canonical.js'
import type { NormalizedUsage, ResponsesResponse } from './types.js'
import type { UpstreamReader } from './stream-reader.js'
import { parseEventJson } from './stream-reader.js'
import { usageFromResponses } from './responses-envelope.js'

/** A response's status as a stop reason: incomplete says why; a turn that ends in calls is tool_calls. */
export function stopFromResponses(status: unknown, incomplete: unknown, hadToolCalls: boolean): StopReason {
  if (status === 'incomplete') {
    const reason = (incomplete as { reason?: unknown } | null | undefined)?.reason
    return reason === 'content_filter' ? 'content_filter' : 'length'
  }
  return hadToolCalls ? 'tool_calls' : 'stop'
}

/** The output items of a response (messages, function calls, reasoning) as canonical parts. */
function partsOf(output: unknown): { parts: CanonicalPart[]; reasoning: string } {
  const parts: CanonicalPart[] = []
  let reasoning = ''
  if (!Array.isArray(output)) return { parts, reasoning }
  for (const item of output) {
    if (item?.type === 'message' && Array.isArray(item.content)) {
      for (const c of item.content) {
        if (c?.type === 'output_text' && typeof c.text === 'string' && c.text !== '') parts.push({ type: 'text', text: c.text })
        else if (c?.type === 'refusal' && typeof c.refusal === 'string' && c.refusal !== '') parts.push({ type: 'text', text: c.refusal })
      }
    } else if (item?.type === 'function_call') {
      parts.push({ type: 'tool_call', id: String(item.call_id ?? item.id ?? ''), name: String(item.name ?? ''), arguments: typeof item.arguments === 'string' ? item.arguments : '' })
    } else if (item?.type === 'reasoning' && Array.isArray(item.summary)) {
      for (const s of item.summary) if (typeof s?.text === 'string') reasoning += s.text
    }
  }
  return { parts, reasoning }
}

export function fromResponsesResponse(res: ResponsesResponse): CanonicalResponse {
  const { parts, reasoning } = partsOf(res.output)
  const out: CanonicalResponse = {
    id: res.id,
    model: res.model,
    created: res.created_at,
    parts,
    stop: stopFromResponses(res.status, res.incomplete_details, parts.some((p) => p.type === 'tool_call')),
    usage: usageFromResponses(res.usage),
  }
  if (reasoning) out.reasoning = reasoning
  return out
}

/**
 * Reads `response.created … response.completed`. Text comes from the `*.delta` events; a function
 * call is announced by `response.output_item.added` and its arguments follow by `output_index`,
 * mapped to dense tool indexes. The terminal event carries the whole response: an upstream that
 * sent no deltas (some compatible servers) still yields its output from there. `response.failed`
 * and `error` are failures.
 */
export class ResponsesStreamReader implements UpstreamReader<SseEvent | Record<string, any>> {
  /** output_index → tool index, and whether its arguments arrived as deltas. */
  private readonly tools = new Map<number, { index: number; streamed: boolean }>()
  private produced = false
  private lastUsage: NormalizedUsage = { inputTokens: 0, outputTokens: 0 }

  constructor(private readonly sink: StreamSink) {}

  read(input: SseEvent | Record<string, any>): void {
    const ev: Record<string, any> | undefined = typeof input.data === 'string' ? parseEventJson(input as SseEvent, this.fail) : input
    if (ev === undefined || ev === null || typeof ev !== 'object') return
    const sink = this.sink
    switch (ev.type) {
      case 'response.created':
        sink.start({ id: ev.response?.id, model: ev.response?.model })
        break
      case 'response.output_text.delta':
      case 'response.refusal.delta':
        if (typeof ev.delta === 'string' && ev.delta !== '') {
          this.produced = true
          sink.text(ev.delta)
        }
        break
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta':
        if (typeof ev.delta === 'string' && ev.delta !== '') sink.reasoning(ev.delta)
        break
      case 'response.output_item.added': {
        const item = ev.item
        if (item?.type !== 'function_call') break
        const t = { index: this.tools.size, streamed: false }
        this.tools.set(Number(ev.output_index), t)
        this.produced = true
        sink.toolStart(t.index, String(item.call_id ?? item.id ?? ''), String(item.name ?? ''))
        if (typeof item.arguments === 'string' && item.arguments !== '') {
          t.streamed = true
          sink.toolArgs(t.index, item.arguments)
        }
        break
      }
      case 'response.function_call_arguments.delta': {
        const t = this.tools.get(Number(ev.output_index))
        if (t !== undefined && typeof ev.delta === 'string') {
          t.streamed = true
          sink.toolArgs(t.index, ev.delta)
        }
        break
      }
      case 'response.output_item.done': {
        const t = this.tools.get(Number(ev.output_index))
        if (t === undefined) break
        // Arguments sent only whole, in the done item.
        if (!t.streamed && typeof ev.item?.arguments === 'string' && ev.item.arguments !== '') sink.toolArgs(t.index, ev.item.arguments)
        sink.toolEnd(t.index)
        break
      }
      case 'response.completed':
      case 'response.incomplete':
        this.finishWith(ev.response)
        break
      case 'response.failed':
        sink.error({ status: 500, message: String(ev.response?.error?.message ?? 'the response failed') })
        break
      case 'error':
        sink.error({ status: 500, message: String(ev.message ?? ev.error?.message ?? 'upstream error') })
        break
    }
  }

  end(): void {}

  usage(): NormalizedUsage {
    return this.lastUsage
  }

  private finishWith(res: any): void {
    const sink = this.sink
    if (res === null || typeof res !== 'object') return sink.finish('stop')
    if (res.usage !== null && typeof res.usage === 'object') {
      this.lastUsage = usageFromResponses(res.usage)
      sink.usage(this.lastUsage)
    }
    const { parts } = partsOf(res.output)
    if (!this.produced) {
      // Nothing came as deltas: the output is in the final object only.
      let tool = 0
      for (const p of parts) {
        if (p.type === 'text') sink.text(p.text)
        else {
          sink.toolStart(tool, p.id, p.name)
          if (p.arguments !== '') sink.toolArgs(tool, p.arguments)
          sink.toolEnd(tool++)
        }
      }
    }
    sink.finish(stopFromResponses(res.status, res.incomplete_details, this.tools.size > 0 || parts.some((p) => p.type === 'tool_call')))
  }

  private readonly fail = (message: string) => this.sink.error({ status: 502, message })
}
