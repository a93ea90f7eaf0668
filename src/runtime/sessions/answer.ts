/**
 * The assistant's turn in the answer a client received (the bytes the filters' onChunk saw, in the
 * caller's format), as items the next request can carry — or undefined when the answer is not a
 * complete success: an error, a stream without its end, a truncated answer (`length`, a Responses
 * status other than `completed`). Then the conversation is left as it was.
 */
import { answerOf } from '../cache/capture.js'
import { SseParser } from '../providers/sse/sse-parser.js'
import { toAnthropicResponse } from '../providers/translate/write-anthropic.js'
import { toOpenAIResponse } from '../providers/translate/write-openai.js'
import type { SessionKind } from './history.js'

export interface CompletedAnswer {
  readonly items: unknown[]
  /** The Responses API answer's id (what a next `previous_response_id` names). */
  readonly responseId?: string
}

export function completedAnswer(kind: SessionKind, streamed: boolean, body: Buffer): CompletedAnswer | undefined {
  if (kind === 'responses') return responsesAnswer(streamed, body)
  const a = answerOf(kind, streamed, body)
  if (a?.kind !== 'turn') return undefined
  const r = a.response
  if (r.stop === 'length' || r.stop === 'content_filter') return undefined
  if (kind === 'chat') {
    const m = toOpenAIResponse(r).choices[0].message as Record<string, unknown>
    const message: Record<string, unknown> = { role: 'assistant', content: m.content ?? null }
    if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) message.tool_calls = m.tool_calls
    return { items: [message] }
  }
  return { items: [{ role: 'assistant', content: toAnthropicResponse(r).content }] }
}

function responsesAnswer(streamed: boolean, body: Buffer): CompletedAnswer | undefined {
  let doc: any
  if (streamed) {
    const parser = new SseParser()
    for (const ev of parser.push(body)) {
      if (ev.event === 'response.completed' || ev.data.includes('"response.completed"')) {
        try {
          const d = JSON.parse(ev.data)
          if (d?.type === 'response.completed') doc = d.response
        } catch {
          return undefined
        }
      }
    }
  } else {
    try {
      doc = JSON.parse(body.toString('utf8'))
    } catch {
      return undefined
    }
  }
  if (doc?.object !== 'response' || doc.status !== 'completed' || !Array.isArray(doc.output) || typeof doc.id !== 'string') return undefined
  const items: unknown[] = []
  for (const o of doc.output) {
    // What a next request may carry as input: the assistant's text and its function calls (reasoning
    // items are the provider's own and are not sent back).
    if (o?.type === 'message' && o.role === 'assistant' && Array.isArray(o.content)) {
      const text = o.content.filter((p: any) => p?.type === 'output_text').map((p: any) => p.text).join('')
      items.push({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] })
    } else if (o?.type === 'function_call' && typeof o.call_id === 'string') {
      items.push({ type: 'function_call', call_id: o.call_id, name: o.name, arguments: o.arguments ?? '' })
    }
  }
  return { items, responseId: doc.id }
}
