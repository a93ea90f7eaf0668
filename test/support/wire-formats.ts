/**
 * Issue 12: what the scripted upstreams of the issue-12 tests say, byte for byte. The OpenAI
 * Responses API as the `openai` SDK reads it (node_modules/openai/resources/responses/responses.d.ts:
 * the `response` object; stream events with `event:` lines and consecutive `sequence_number`s),
 * Chat Completions chunks, and Anthropic Messages events.
 */
import type { ServerResponse } from 'node:http'

export type Item = Record<string, unknown>

export interface ResponseShape {
  id: string
  model: string
  status?: 'completed' | 'in_progress' | 'failed' | 'incomplete'
  output?: Item[]
  usage?: { input_tokens: number; output_tokens: number } | null
  error?: { code: string; message: string } | null
  tools?: unknown[]
}

/** The Responses API `response` object, with every field the API sends. */
export function responseObject(r: ResponseShape): Record<string, unknown> {
  const usage = r.usage === undefined ? { input_tokens: 11, output_tokens: 7 } : r.usage
  return {
    id: r.id, object: 'response', created_at: 1764700000, status: r.status ?? 'completed', background: false,
    error: r.error ?? null, incomplete_details: null, instructions: null, max_output_tokens: null, max_tool_calls: null,
    model: r.model, output: r.output ?? [], parallel_tool_calls: true, previous_response_id: null,
    reasoning: { effort: null, summary: null }, service_tier: 'default', store: true, temperature: 1,
    text: { format: { type: 'text' }, verbosity: 'medium' }, tool_choice: 'auto', tools: r.tools ?? [], top_logprobs: 0,
    top_p: 1, truncation: 'disabled',
    usage: usage && {
      input_tokens: usage.input_tokens, input_tokens_details: { cached_tokens: 0 },
      output_tokens: usage.output_tokens, output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.input_tokens + usage.output_tokens,
    },
    user: null, metadata: {},
  }
}

export const messageItem = (id: string, text: string, status = 'completed'): Item => ({
  id, type: 'message', status, role: 'assistant', content: [{ type: 'output_text', annotations: [], logprobs: [], text }],
})

export const functionCallItem = (id: string, callId: string, name: string, args: string, status = 'completed'): Item => ({
  id, type: 'function_call', status, arguments: args, call_id: callId, name,
})

/** A Responses event stream: `event: <type>` + `data:` frames, sequence numbers assigned in order. */
export class ResponsesEvents {
  private seq = 0
  readonly frames: string[] = []
  constructor(readonly shape: ResponseShape) {}

  add(type: string, fields: Record<string, unknown> = {}): this {
    this.frames.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.seq++, ...fields })}\n\n`)
    return this
  }

  /** response.created and response.in_progress. */
  opening(): this {
    const r = responseObject({ ...this.shape, status: 'in_progress', output: [], usage: null })
    return this.add('response.created', { response: r }).add('response.in_progress', { response: r })
  }

  /** One assistant message, its text streamed in `pieces`. */
  message(index: number, itemId: string, pieces: string[]): this {
    const text = pieces.join('')
    this.add('response.output_item.added', { output_index: index, item: { id: itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] } })
    this.add('response.content_part.added', { item_id: itemId, output_index: index, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } })
    for (const delta of pieces) this.add('response.output_text.delta', { item_id: itemId, output_index: index, content_index: 0, delta, logprobs: [] })
    this.add('response.output_text.done', { item_id: itemId, output_index: index, content_index: 0, text, logprobs: [] })
    this.add('response.content_part.done', { item_id: itemId, output_index: index, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text } })
    return this.add('response.output_item.done', { output_index: index, item: messageItem(itemId, text) })
  }

  /** One function call, its arguments streamed in `pieces`. */
  functionCall(index: number, itemId: string, callId: string, name: string, pieces: string[]): this {
    const args = pieces.join('')
    this.add('response.output_item.added', { output_index: index, item: functionCallItem(itemId, callId, name, '', 'in_progress') })
    for (const delta of pieces) this.add('response.function_call_arguments.delta', { item_id: itemId, output_index: index, delta })
    this.add('response.function_call_arguments.done', { item_id: itemId, output_index: index, name, arguments: args })
    return this.add('response.output_item.done', { output_index: index, item: functionCallItem(itemId, callId, name, args) })
  }

  completed(output: Item[]): this {
    return this.add('response.completed', { response: responseObject({ ...this.shape, status: 'completed', output }) })
  }

  failed(code: string, message: string): this {
    return this.add('response.failed', { response: responseObject({ ...this.shape, status: 'failed', usage: null, error: { code, message } }) })
  }

  body(): string {
    return this.frames.join('')
  }
}

export function sendSseHead(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
}

export function sendJsonBody(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) })
  res.end(text)
}

/** Writes frames with a pause between them, so each reaches the gateway as its own read. */
export async function writePaced(res: ServerResponse, frames: readonly string[], pauseMs = 5): Promise<void> {
  for (const f of frames) {
    if (res.destroyed) return
    res.write(f)
    await new Promise((r) => setTimeout(r, pauseMs))
  }
}

/** Resets the connection (RST where the platform allows), as a crashed upstream does. */
export function cut(res: ServerResponse): void {
  const s = res.socket
  if (s && typeof (s as { resetAndDestroy?: () => void }).resetAndDestroy === 'function') (s as unknown as { resetAndDestroy(): void }).resetAndDestroy()
  else s?.destroy()
}

/** Chat Completions stream chunks of one answer: the role chunk, content pieces, the finish. */
export function chatChunks(id: string, model: string, pieces: readonly string[], opts: { finish?: boolean; usage?: boolean } = {}): string[] {
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1764700000, model, system_fingerprint: 'fp_1', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`
  const out = [chunk({ role: 'assistant', content: '', refusal: null }, null)]
  for (const p of pieces) out.push(chunk({ content: p }, null))
  if (opts.finish !== false) {
    out.push(chunk({}, 'stop'))
    if (opts.usage) out.push(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1764700000, model, choices: [], usage: { prompt_tokens: 9, completion_tokens: 9, total_tokens: 18 } })}\n\n`)
    out.push('data: [DONE]\n\n')
  }
  return out
}

/** An Anthropic Messages stream of one text answer. */
export function anthropicTextEvents(id: string, model: string, pieces: readonly string[]): string[] {
  const ev = (v: { type: string }) => `event: ${v.type}\ndata: ${JSON.stringify(v)}\n\n`
  return [
    ev({ type: 'message_start', message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } } } as { type: string }),
    ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } as { type: string }),
    ev({ type: 'ping' }),
    ...pieces.map((text) => ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } } as { type: string })),
    ev({ type: 'content_block_stop', index: 0 } as { type: string }),
    ev({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 8 } } as { type: string }),
    ev({ type: 'message_stop' }),
  ]
}
