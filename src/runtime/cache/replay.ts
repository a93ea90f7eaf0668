/**
 * A stored answer, replayed to the caller asking now: in its protocol (OpenAI chat or Anthropic
 * messages, whichever filled the entry), whole or as a well-formed SSE stream written by the
 * translation hub's own writers (new id and created, text in pieces of REPLAY_CHUNK_CHARS, the
 * finish, usage when asked for, the end marker). Usage is the original's with every input token
 * marked cached. Built as one LocalReply: a hit involves no upstream to pace it.
 */
import type { LocalReply } from '../types.js'
import type { CanonicalResponse, SseWriter } from '../providers/translate/canonical.js'
import { OpenAISseWriter, toOpenAIResponse } from '../providers/translate/write-openai.js'
import { AnthropicSseWriter, toAnthropicResponse } from '../providers/translate/write-anthropic.js'
import { nowSeconds, randomId } from '../providers/translate/ids.js'
import type { NormalizedUsage } from '../providers/translate/types.js'
import type { CacheEntry } from './entry.js'

/** Characters of text per replayed stream chunk (about 16 tokens). */
export const REPLAY_CHUNK_CHARS = 64

/** How the caller asked. */
export interface ReplayRequest {
  readonly protocol: 'openai' | 'anthropic'
  readonly stream: boolean
  /** OpenAI callers: stream_options.include_usage. */
  readonly includeUsage: boolean
}

const JSON_TYPE = ['content-type', 'application/json'] as const
const SSE_TYPE = ['content-type', 'text/event-stream'] as const
const NO_CACHE = ['cache-control', 'no-cache'] as const

/** undefined when this entry cannot answer this request (a whole JSON body asked for as a stream). */
export function replay(entry: CacheEntry, req: ReplayRequest, status: string, ageSeconds: number): LocalReply | undefined {
  const tail: (readonly [string, string])[] = [['x-switchyard-cache', status], ['age', String(ageSeconds)]]
  const a = entry.answer
  if (a.kind === 'json') {
    if (req.stream) return undefined
    return { status: 200, headers: [JSON_TYPE, ...tail], body: Buffer.from(a.body) }
  }
  const r: CanonicalResponse = { ...a.response, id: '', created: nowSeconds(), usage: markedCached(a.response.usage) }
  if (!req.stream) {
    const body = req.protocol === 'openai'
      ? { ...toOpenAIResponse(r), id: randomId('chatcmpl-') }
      : { ...toAnthropicResponse(r), id: randomId('msg_') }
    return { status: 200, headers: [JSON_TYPE, ...tail], body: Buffer.from(JSON.stringify(body)) }
  }
  const w: SseWriter = req.protocol === 'openai'
    ? new OpenAISseWriter({ id: randomId('chatcmpl-'), created: r.created, includeUsage: req.includeUsage })
    : new AnthropicSseWriter({ id: randomId('msg_') })
  writeTurn(w, r)
  return { status: 200, headers: [SSE_TYPE, NO_CACHE, ...tail], body: Buffer.from(w.take()) }
}

/** Drives a caller writer with a whole turn, as an upstream reader would. */
function writeTurn(w: SseWriter, r: CanonicalResponse): void {
  w.start({ id: r.id, model: r.model })
  if (r.reasoning) w.reasoning(r.reasoning)
  let tool = 0
  for (const p of r.parts) {
    if (p.type === 'text') {
      for (let i = 0; i < p.text.length; i += REPLAY_CHUNK_CHARS) w.text(p.text.slice(i, i + REPLAY_CHUNK_CHARS))
    } else {
      const t = tool++
      w.toolStart(t, p.id, p.name)
      if (p.arguments) w.toolArgs(t, p.arguments)
      w.toolEnd(t)
    }
  }
  w.usage(r.usage)
  w.finish(r.stop, r.stopSequence)
  w.usage(r.usage)
  w.close()
}

/** The original usage, with every input token marked as read from a cache. */
function markedCached(u: NormalizedUsage): NormalizedUsage {
  return { ...u, cachedInputTokens: u.inputTokens }
}
