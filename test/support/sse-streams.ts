/** SSE round-trips and streamed turns assembled the way the official SDKs assemble them. */
import { SseParser, type SseEvent } from '../../src/runtime/providers/sse/sse-parser.js'
import type { StreamTranslator } from '../../src/runtime/providers/translate/canonical.js'

/** Parses SSE text, optionally fed `chunkSize` bytes at a time. */
export function sseEvents(text: string | Buffer, chunkSize = 0): SseEvent[] {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text
  const p = new SseParser()
  const out: SseEvent[] = []
  if (chunkSize <= 0) out.push(...p.push(bytes))
  else for (let i = 0; i < bytes.length; i += chunkSize) out.push(...p.push(bytes.subarray(i, i + chunkSize)))
  out.push(...p.end())
  return out
}

/** Runs every event through a translator; returns the concatenated client output. */
export function runStream<In>(t: StreamTranslator<In>, events: readonly In[]): string {
  let out = ''
  for (const e of events) out += t.push(e)
  return out + t.end()
}

export interface OpenAIAssembled {
  role?: string
  content: string
  toolCalls: { id?: string; name?: string; arguments: string }[]
  finish: string | null
  usage: any
  done: boolean
  errors: any[]
  chunks: any[]
}

/** Accumulates OpenAI chunks the way the openai SDK does (tool calls merged by index). */
export function assembleOpenAI(sse: string): OpenAIAssembled {
  const r: OpenAIAssembled = { content: '', toolCalls: [], finish: null, usage: undefined, done: false, errors: [], chunks: [] }
  for (const ev of sseEvents(sse)) {
    if (ev.data === '[DONE]') {
      r.done = true
      continue
    }
    const c = JSON.parse(ev.data)
    if (c.error) {
      r.errors.push(c.error)
      continue
    }
    r.chunks.push(c)
    if (c.usage) r.usage = c.usage
    const ch = c.choices?.[0]
    if (!ch) continue
    if (ch.delta.role) r.role = ch.delta.role
    if (ch.delta.content) r.content += ch.delta.content
    for (const tc of ch.delta.tool_calls ?? []) {
      const slot = (r.toolCalls[tc.index] ??= { arguments: '' })
      if (tc.id) slot.id = tc.id
      if (tc.function?.name) slot.name = tc.function.name
      if (tc.function?.arguments) slot.arguments += tc.function.arguments
    }
    if (ch.finish_reason) r.finish = ch.finish_reason
  }
  return r
}

export interface AnthropicAssembled {
  events: any[]
  names: string[]
  content: any[]
  stopReason: string | null
  stopSequence: string | null
  usage: any
  errors: any[]
}

/** Accumulates Anthropic events, checking block discipline (start → deltas → stop, one at a time). */
export function assembleAnthropic(sse: string): AnthropicAssembled {
  const r: AnthropicAssembled = { events: [], names: [], content: [], stopReason: null, stopSequence: null, usage: undefined, errors: [] }
  const json: string[] = []
  let open: number | undefined
  for (const ev of sseEvents(sse)) {
    const e = JSON.parse(ev.data)
    if (ev.event !== e.type) throw new Error(`event name ${ev.event} != type ${e.type}`)
    r.events.push(e)
    r.names.push(e.type)
    switch (e.type) {
      case 'message_start':
        r.usage = { ...e.message.usage }
        break
      case 'content_block_start':
        if (open !== undefined) throw new Error(`block ${e.index} started while ${open} is open`)
        if (e.index !== r.content.length) throw new Error(`block index ${e.index} out of order`)
        open = e.index
        r.content.push({ ...e.content_block })
        json[e.index] = ''
        break
      case 'content_block_delta':
        if (open !== e.index) throw new Error(`delta for block ${e.index} while ${open} is open`)
        if (e.delta.type === 'text_delta') r.content[e.index].text += e.delta.text
        else if (e.delta.type === 'input_json_delta') json[e.index] += e.delta.partial_json
        break
      case 'content_block_stop':
        if (open !== e.index) throw new Error(`stop for block ${e.index} while ${open} is open`)
        open = undefined
        if (r.content[e.index].type === 'tool_use') r.content[e.index].input = json[e.index] ? JSON.parse(json[e.index]!) : {}
        break
      case 'message_delta':
        r.stopReason = e.delta.stop_reason
        r.stopSequence = e.delta.stop_sequence
        r.usage = { ...r.usage, ...e.usage }
        break
      case 'error':
        r.errors.push(e.error)
        break
    }
  }
  return r
}
