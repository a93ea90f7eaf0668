/**
 * Responses API answers in the cache. A streamed `/v1/responses` answer is kept as the final
 * `response` object its `response.completed` event carried (the same JSON a whole answer is), so
 * one entry answers both kinds of caller; a streaming caller gets it back as a well-formed
 * Responses event stream in OpenAI's order — response.created, response.in_progress, per output
 * item output_item.added, its parts and deltas (text in pieces of REPLAY_CHUNK_CHARS), the
 * .done events, output_item.done, then response.completed with the whole response — with
 * `sequence_number`s, a new response id and created_at, and usage with every input token marked cached.
 *
 * The stream is rendered once per entry around two sentinels (the id and created_at) and only
 * those are filled in per hit.
 */
import { SseParser } from '../providers/sse/sse-parser.js'

/** Characters of text per replayed delta, as in replay.ts. */
const CHUNK = 64

/**
 * The completed `response` object a Responses event stream ended with, as JSON; undefined unless
 * the stream is a complete success: `response.completed` (status completed) is its last event,
 * and no `error`, `response.failed` or `response.incomplete` came before it.
 */
export function responseOfStream(body: Buffer): string | undefined {
  const parser = new SseParser()
  let completed: string | undefined
  for (const ev of parser.push(body)) {
    if (completed !== undefined) return undefined // nothing may follow the end
    const type = ev.event ?? ''
    if (type === 'error' || type === 'response.failed' || type === 'response.incomplete') return undefined
    if (type !== 'response.completed') continue
    let doc: any
    try {
      doc = JSON.parse(ev.data)
    } catch {
      return undefined
    }
    const r = doc?.response
    if (r?.object !== 'response' || r.status !== 'completed' || !Array.isArray(r.output)) return undefined
    completed = JSON.stringify(r)
  }
  if (parser.pendingChars > 0) return undefined
  return completed
}

export const RESPONSE_ID_SENTINEL = 'resp_sy-replay-id-sentinel'
export const CREATED_AT_SENTINEL = 4_102_444_800

/** The event stream for a stored response, with the id and created_at sentinels (fill them per hit). */
export function responsesStreamTemplate(stored: string): string | undefined {
  let res: any
  try {
    res = JSON.parse(stored)
  } catch {
    return undefined
  }
  if (res?.object !== 'response' || !Array.isArray(res.output)) return undefined
  const final = { ...res, id: RESPONSE_ID_SENTINEL, created_at: CREATED_AT_SENTINEL, usage: markedCached(res.usage) }
  const w = new EventWriter()
  const opening = { ...final, status: 'in_progress', output: [], usage: null, incomplete_details: null }
  w.event('response.created', { response: opening })
  w.event('response.in_progress', { response: opening })
  final.output.forEach((item: any, i: number) => writeItem(w, item, i))
  w.event('response.completed', { response: final })
  return w.out
}

class EventWriter {
  out = ''
  private seq = 0
  event(type: string, body: Record<string, unknown>): void {
    this.out += 'event: ' + type + '\ndata: ' + JSON.stringify({ type, sequence_number: this.seq++, ...body }) + '\n\n'
  }
}

function* pieces(text: string): Generator<string> {
  for (let i = 0; i < text.length; i += CHUNK) yield text.slice(i, i + CHUNK)
}

function writeItem(w: EventWriter, item: any, output_index: number): void {
  const id = item.id
  if (item.type === 'message' && Array.isArray(item.content)) {
    w.event('response.output_item.added', { output_index, item: { ...item, status: 'in_progress', content: [] } })
    item.content.forEach((part: any, content_index: number) => {
      const refusal = part.type === 'refusal'
      const field = refusal ? 'refusal' : 'text'
      const text: string = typeof part[field] === 'string' ? part[field] : ''
      w.event('response.content_part.added', { item_id: id, output_index, content_index, part: { ...part, [field]: '', ...(refusal ? {} : { annotations: [] }) } })
      if (refusal) {
        for (const delta of pieces(text)) w.event('response.refusal.delta', { item_id: id, output_index, content_index, delta })
        w.event('response.refusal.done', { item_id: id, output_index, content_index, refusal: text })
      } else {
        for (const delta of pieces(text)) w.event('response.output_text.delta', { item_id: id, output_index, content_index, delta, logprobs: [] })
        w.event('response.output_text.done', { item_id: id, output_index, content_index, text, logprobs: [] })
      }
      w.event('response.content_part.done', { item_id: id, output_index, content_index, part })
    })
  } else if (item.type === 'function_call') {
    w.event('response.output_item.added', { output_index, item: { ...item, arguments: '', status: 'in_progress' } })
    const args: string = typeof item.arguments === 'string' ? item.arguments : ''
    for (const delta of pieces(args)) w.event('response.function_call_arguments.delta', { item_id: id, output_index, delta })
    w.event('response.function_call_arguments.done', { item_id: id, output_index, name: item.name, arguments: args })
  } else if (item.type === 'reasoning' && Array.isArray(item.summary)) {
    w.event('response.output_item.added', { output_index, item: { ...item, summary: [] } })
    item.summary.forEach((part: any, summary_index: number) => {
      const text: string = typeof part.text === 'string' ? part.text : ''
      w.event('response.reasoning_summary_part.added', { item_id: id, output_index, summary_index, part: { ...part, text: '' } })
      for (const delta of pieces(text)) w.event('response.reasoning_summary_text.delta', { item_id: id, output_index, summary_index, delta })
      w.event('response.reasoning_summary_text.done', { item_id: id, output_index, summary_index, text })
      w.event('response.reasoning_summary_part.done', { item_id: id, output_index, summary_index, part })
    })
  } else {
    // Other item kinds (web search calls, images…) carry no deltas: announced whole.
    w.event('response.output_item.added', { output_index, item })
  }
  w.event('response.output_item.done', { output_index, item })
}

/** The original usage with every input token marked as read from a cache (as chat replays do). */
function markedCached(u: any): any {
  if (u === null || typeof u !== 'object' || typeof u.input_tokens !== 'number') return u
  return { ...u, input_tokens_details: { ...(u.input_tokens_details ?? {}), cached_tokens: u.input_tokens } }
}
