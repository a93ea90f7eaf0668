/**
 * A stored answer, replayed to the caller asking now: in its protocol (OpenAI chat or Anthropic
 * messages, whichever filled the entry), whole or as a well-formed SSE stream written by the
 * translation hub's own writers (new id and created, text in pieces of REPLAY_CHUNK_CHARS, the
 * finish, usage when asked for, the end marker). Usage is the original's with every input token
 * marked cached. A Responses entry streams as a Responses event stream (responses-stream.ts).
 * Built as one LocalReply: a hit involves no upstream to pace it.
 */
import type { LocalReply } from '../types.js'
import type { CanonicalResponse, SseWriter } from '../providers/translate/canonical.js'
import { OpenAISseWriter, toOpenAIResponse } from '../providers/translate/write-openai.js'
import { AnthropicSseWriter, toAnthropicResponse } from '../providers/translate/write-anthropic.js'
import { randomBytes } from 'node:crypto'
import { nowSeconds } from '../providers/translate/ids.js'
import type { NormalizedUsage } from '../providers/translate/types.js'
import type { CacheEntry, JsonAnswer, TurnAnswer } from './entry.js'
import { CREATED_AT_SENTINEL, RESPONSE_ID_SENTINEL, responsesStreamTemplate } from './responses-stream.js'

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
    if (!req.stream) return { status: 200, headers: [JSON_TYPE, ...tail], body: Buffer.from(a.body) }
    // Only a Responses object has a stream form (embeddings are never streamed).
    const t = responsesTemplate(entry, a)
    if (t === undefined) return undefined
    const body = t.split(RESPONSE_ID_SENTINEL).join(replayId('resp_')).split(String(CREATED_AT_SENTINEL)).join(String(nowSeconds()))
    return { status: 200, headers: [SSE_TYPE, NO_CACHE, ...tail], body: Buffer.from(body) }
  }
  const openai = req.protocol === 'openai'
  const r: CanonicalResponse = { ...a.response, id: replayId(openai ? 'chatcmpl-' : 'msg_'), created: nowSeconds(), usage: markedCached(a.response.usage) }
  if (!req.stream) return { status: 200, headers: [JSON_TYPE, ...tail], body: wholeBody(entry, a, openai, r.id, r.created!) }
  const w: SseWriter = openai ? new OpenAISseWriter({ id: r.id, created: r.created, includeUsage: req.includeUsage }) : new AnthropicSseWriter({ id: r.id })
  writeTurn(w, r)
  return { status: 200, headers: [SSE_TYPE, NO_CACHE, ...tail], body: Buffer.from(w.take()) }
}

/**
 * A whole answer is rendered once per entry and protocol around two sentinels (its id and created,
 * the first and third fields written), then only those are filled in per hit: rendering the object
 * again per hit would be most of the hit's cost.
 */
interface WholeTemplate {
  readonly head: string
  readonly afterId: string
  /** Empty for Anthropic (no `created`): then afterId runs to the end. */
  readonly afterCreated: string
}
const templates = new WeakMap<CacheEntry, { openai?: WholeTemplate; anthropic?: WholeTemplate }>()
const ID_SENTINEL = 'sy-replay-id-sentinel'
const CREATED_SENTINEL = 4_102_444_800_123

function wholeBody(entry: CacheEntry, a: TurnAnswer, openai: boolean, id: string, created: number): Buffer {
  let byProtocol = templates.get(entry)
  if (byProtocol === undefined) templates.set(entry, (byProtocol = {}))
  const t = (openai ? byProtocol.openai : byProtocol.anthropic) ?? (byProtocol[openai ? 'openai' : 'anthropic'] = template(a, openai))
  return Buffer.from(openai ? t.head + id + t.afterId + created + t.afterCreated : t.head + id + t.afterId)
}

function template(a: TurnAnswer, openai: boolean): WholeTemplate {
  const r: CanonicalResponse = { ...a.response, id: openai ? ID_SENTINEL : `msg_${ID_SENTINEL}`, created: CREATED_SENTINEL, usage: markedCached(a.response.usage) }
  const text = JSON.stringify(openai ? { ...toOpenAIResponse(r), id: ID_SENTINEL } : { ...toAnthropicResponse(r), id: ID_SENTINEL })
  const i = text.indexOf(ID_SENTINEL)
  const rest = text.slice(i + ID_SENTINEL.length)
  if (!openai) return { head: text.slice(0, i), afterId: rest, afterCreated: '' }
  const c = rest.indexOf(String(CREATED_SENTINEL))
  return { head: text.slice(0, i), afterId: rest.slice(0, c), afterCreated: rest.slice(c + String(CREATED_SENTINEL).length) }
}

/** A Responses entry's event stream, rendered once per entry (null: the body is not a Responses object). */
const streams = new WeakMap<CacheEntry, string | null>()
function responsesTemplate(entry: CacheEntry, a: JsonAnswer): string | undefined {
  let t = streams.get(entry)
  if (t === undefined) streams.set(entry, (t = responsesStreamTemplate(a.body) ?? null))
  return t ?? undefined
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

/** Unique per process (a random prefix, then a counter): a random id per hit would cost more than the hit. */
const ID_PREFIX = randomBytes(6).toString('base64url')
let nextId = 0
function replayId(prefix: string): string {
  return `${prefix}sy${ID_PREFIX}${(nextId++).toString(36)}`
}
