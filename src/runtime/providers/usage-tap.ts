/**
 * Reads token usage out of responses that are otherwise forwarded byte for byte, without parsing
 * every event: only text that contains `"usage"` is looked at. For OpenAI streams where the
 * gateway itself asked for usage (`stream_options.include_usage`), the extra usage-only chunk is
 * removed again before the client sees it.
 */
import type { Usage } from '../types.js'
import type { CallerProtocol } from '../../protocols.js'
import { usageFromAnthropic, usageFromOpenAI } from './translate/usage.js'
import { usageFromResponses } from './translate/responses-envelope.js'
import { scanJsonLine } from './json-syntax.js'
import { createSseParser, type SseEvent } from './sse/sse-parser.js'

const USAGE = Buffer.from('"usage"')
const CHOICES = Buffer.from('"choices"')
const ROLE = Buffer.from('"role"')
const DELTA = Buffer.from('"delta"')
const FINISH = Buffer.from('"finish_reason"')
/** What an opening delta may hold: the role, empty content, no refusal — and separators. */
const OPENING_DELTA = /"role"\s*:\s*"assistant"|"content"\s*:\s*(?:""|null)|"refusal"\s*:\s*null|[\s,]/g
const DATA = Buffer.from('data:')
const EVENT_END = Buffer.from('\n\n')

/** Finds `"usage": {...}` in a JSON body and parses just that object. */
export function usageFromJsonBody(body: Buffer, protocol: CallerProtocol): Usage | undefined {
  const at = body.lastIndexOf(USAGE)
  if (at < 0) return undefined
  const open = body.indexOf(0x7b /* { */, at)
  if (open < 0) return undefined
  const end = objectEnd(body, open, body.length)
  if (end < 0) return undefined
  try {
    const u = JSON.parse(body.toString('utf8', open, end))
    return protocol === 'openai' ? usageFromOpenAI(u) : protocol === 'responses' ? usageFromResponses(u) : usageFromAnthropic(u)
  } catch {
    return undefined
  }
}

const OPENAI_END = Buffer.from('data: [DONE]')
/** Bytes at the end of a segment that can hold the final event(s). */
const TAIL = 512
const ANTHROPIC_END = Buffer.from('message_stop')
/** The Responses API ends a stream with one of these events, as the provider decided. */
const RESPONSES_ENDS = ['response.completed', 'response.failed', 'response.incomplete', 'event: error'].map((s) => Buffer.from(s))

const RESPONSES_END_TYPES = new Set(['response.completed', 'response.failed', 'response.incomplete', 'error'])

/**
 * Is one of these whole events a Responses terminal event? The markers are only candidates — the
 * model's text may mention `response.completed` — so the event holding one is decoded and judged
 * by its type (rare: once at the end, or when the text talks about the API).
 */
function hasResponsesEnd(buf: Buffer): boolean {
  for (const m of RESPONSES_ENDS) {
    let at = buf.indexOf(m)
    while (at >= 0) {
      const start = buf.lastIndexOf(EVENT_END, at)
      let end = buf.indexOf(EVENT_END, at)
      if (end < 0) end = buf.length
      const ev = decodeEvent(buf, start < 0 ? 0 : start + 2, end)
      let type = ev?.event
      if (type === undefined) try { type = JSON.parse(ev?.data ?? '')?.type } catch {}
      if (typeof type === 'string' && RESPONSES_END_TYPES.has(type)) return true
      at = buf.indexOf(m, end)
    }
  }
  return false
}

/** Whose stream this is: Chat Completions, Anthropic Messages, or the OpenAI Responses API. */

export class SseUsageTap {
  usage: Usage | undefined
  /** The provider's end marker went by (`[DONE]` / `message_stop`): the answer is whole. */
  complete = false
  private carry: Buffer | undefined

  /**
   * `strip`: drop OpenAI usage-only chunks (the client did not ask for them). `choices` (the
   * request's `n`) and `usageRequested` judge a stream that ends without `[DONE]`.
   */
  constructor(private readonly protocol: CallerProtocol, private readonly strip: boolean, private readonly choices = 1, private readonly usageRequested = strip) {}

  /** OpenAI choice indexes that reported a finish_reason. */
  private finished: Set<number> | undefined

  /**
   * An OpenAI stream that closed without `[DONE]` is still whole when every choice reported its
   * finish_reason and, when the gateway asked for usage, the usage chunk arrived.
   */
  finishedWithoutMarker(): boolean {
    if (this.protocol !== 'openai' || this.malformed !== undefined) return false
    return (this.finished?.size ?? 0) >= this.choices && (!this.usageRequested || this.usage !== undefined)
  }

  /**
   * Notes finish_reasons in these events. Only events whose finish_reason is not null are decoded:
   * one per choice a stream.
   */
  private noteFinishes(buf: Buffer, from: number): void {
    let at = buf.indexOf(FINISH, from)
    while (at >= 0) {
      const v = valueAfterKey(buf, FINISH, at, buf.length)
      const next = at + FINISH.length
      if (v >= 0 && buf[v] === 0x22 /* a string, not null */) {
        const start = buf.lastIndexOf(EVENT_END, at)
        let end = buf.indexOf(EVENT_END, at)
        if (end < 0) end = buf.length
        try {
          const j = JSON.parse(decodeEvent(buf, start < 0 ? 0 : start + 2, end)?.data ?? '')
          for (const c of j.choices ?? []) if (c?.finish_reason != null) (this.finished ??= new Set()).add(Number(c.index ?? 0))
        } catch {}
        at = buf.indexOf(FINISH, end)
        continue
      }
      at = buf.indexOf(FINISH, next)
    }
  }

  /**
   * Set when an event's data is not JSON (nor OpenAI's `[DONE]`): what push() returned before it
   * is whole and valid, nothing after it is forwarded, and the stream is an upstream failure.
   */
  malformed: string | undefined

  /** Returns the bytes to forward now: whole events only; a partial tail waits for its end. */
  push(chunk: Buffer): Buffer | undefined {
    if (this.malformed !== undefined) return undefined
    let buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk
    const end = buf.lastIndexOf(EVENT_END)
    if (end < 0) {
      this.carry = buf
      return undefined
    }
    this.carry = end + 2 < buf.length ? buf.subarray(end + 2) : undefined
    buf = buf.subarray(0, end + 2)
    const bad = this.firstMalformed(buf)
    if (bad >= 0) {
      this.carry = undefined
      buf = buf.subarray(0, bad)
      if (buf.length === 0) return undefined
    }
    // The end marker is always in the last event; OpenAI's usage in one of the last two (earlier
    // `"usage":null` placeholders carry nothing). Anthropic reports usage at both ends.
    if (!this.complete) {
      // response.completed carries the whole response: its marker can be far from the end.
      if (this.protocol === 'responses') this.complete = hasResponsesEnd(buf)
      else if (buf.indexOf(this.protocol === 'openai' ? OPENAI_END : ANTHROPIC_END, Math.max(0, buf.length - TAIL)) >= 0) this.complete = true
    }
    const from = this.protocol === 'openai' ? Math.max(0, buf.length - 4 * TAIL) : 0
    // With one choice its finish is in the last chunks (only usage follows); with several, one may
    // finish long before the others, anywhere in a read.
    if (this.protocol === 'openai' && !this.complete) this.noteFinishes(buf, this.choices > 1 ? 0 : from)
    if (buf.indexOf(USAGE, from) < 0) return buf
    return this.inspect(buf, from)
  }

  /**
   * Offset of the first event whose data does not parse, or -1. Every event is parsed: a stream
   * that carries garbage is a broken answer even when it ends with its marker (DESIGN: a stream is
   * complete only when the provider says so, in events the client can read).
   */
  private firstMalformed(buf: Buffer): number {
    let start = 0
    const len = buf.length
    while (start < len) {
      // Fast path: `data: <json>\n\n`, after an `event:` line on Anthropic streams. The scan finds
      // where the value ends, so the blank line is checked there instead of searched for.
      let line = start
      if (isEventLine(buf, line)) {
        const nl = buf.indexOf(0x0a, line)
        if (nl >= 0) line = nl + 1
      }
      if (isDataLine(buf, line)) {
        const f = buf[line + 5] === 0x20 ? line + 6 : line + 5
        let v = this.protocol === 'openai' && buf[f] === 0x5b && isDone(buf, f) ? f + 6 : scanJsonLine(buf, f, len)
        if (v >= 0) {
          if (buf[v] === 0x0d) v++
          if (buf[v] === 0x0a && buf[v + 1] === 0x0a) {
            start = v + 2
            continue
          }
        }
      }
      // Any other shape (several data lines, comments, other fields) is decoded as the spec says.
      let end = buf.indexOf(EVENT_END, start)
      if (end < 0) end = len
      const data = decodeEvent(buf, start, end)?.data
      if (data !== undefined && !this.dataOk(data)) {
        this.malformed = data.length > 80 ? `${data.slice(0, 80)}…` : data
        return start
      }
      start = end + 2
    }
    return -1
  }

  private dataOk(data: string): boolean {
    if (this.protocol === 'openai' && data === '[DONE]') return true
    try {
      JSON.parse(data)
      return true
    } catch {
      return false
    }
  }

  /**
   * Whether these whole events are only the stream's opening — OpenAI chunks whose deltas carry
   * nothing but the role (empty content), Anthropic `message_start` / `ping`, comments — so the
   * caller can hold them until real output follows. Called only before anything was written.
   */
  openingOnly(buf: Buffer): boolean {
    let start = 0
    while (start < buf.length) {
      let end = buf.indexOf(EVENT_END, start)
      if (end < 0) end = buf.length
      // Cheap rejection first: an OpenAI chunk without a role is never an opening (most events).
      if (this.protocol === 'openai' && !hasBytes(buf, ROLE, start, end) && hasBytes(buf, DATA, start, end)) return false
      if (!this.isOpening(buf, start, end)) return false
      start = end + 2
    }
    return true
  }

  private isOpening(buf: Buffer, start: number, end: number): boolean {
    let data: string | undefined
    let type: string | undefined
    const nl = buf.indexOf(0x0a, start)
    if (isDataLine(buf, start) && (nl < 0 || nl >= end)) {
      // One data line, OpenAI's shape: judged on the bytes when it is the usual one-choice chunk.
      if (this.protocol === 'openai') {
        const quick = openAIOpening(buf, start, end)
        if (quick !== undefined) return quick
      }
      data = buf.toString('utf8', buf[start + 5] === 0x20 ? start + 6 : start + 5, end)
    } else {
      const ev = decodeEvent(buf, start, end)
      data = ev?.data
      type = ev?.event
    }
    if (data === undefined) return true
    if (this.protocol === 'anthropic') return type === 'message_start' || type === 'ping'
    if (this.protocol === 'responses') {
      let t = type
      if (t === undefined) try { t = JSON.parse(data)?.type } catch {}
      return t === 'response.created' || t === 'response.in_progress'
    }
    let j: any
    try {
      j = JSON.parse(data)
    } catch {
      return false
    }
    if (!Array.isArray(j?.choices) || j.choices.length === 0 || (j.usage !== undefined && j.usage !== null)) return false
    for (const c of j.choices) {
      if (c?.finish_reason != null || c?.delta === null || typeof c?.delta !== 'object') return false
      for (const [k, v] of Object.entries(c.delta)) {
        if (k === 'role') continue
        if ((k === 'content' || k === 'refusal') && (v === '' || v === null)) continue
        return false
      }
    }
    return true
  }

  /** Whatever is left when the upstream ends (a stream without a final blank line). */
  flush(): Buffer | undefined {
    const rest = this.carry
    this.carry = undefined
    return rest
  }

  /**
   * Only the events that mention "usage" are decoded (usually one, the last); the rest of the
   * buffer is forwarded as is. An OpenAI usage-only chunk we asked for ourselves is cut out.
   */
  private inspect(buf: Buffer, searchFrom: number): Buffer {
    let out: Buffer[] | undefined
    let from = 0
    let at = buf.indexOf(USAGE, searchFrom)
    while (at >= 0) {
      const start = buf.lastIndexOf(EVENT_END, at)
      const evStart = start < 0 ? 0 : start + 2
      let evEnd = buf.indexOf(EVENT_END, at)
      evEnd = evEnd < 0 ? buf.length : evEnd + 2
      if (this.inspectEvent(buf, evStart, evEnd)) {
        ;(out ??= []).push(buf.subarray(from, evStart))
        from = evEnd
      }
      at = buf.indexOf(USAGE, evEnd)
    }
    if (!out) return buf
    out.push(buf.subarray(from))
    return Buffer.concat(out)
  }

  /**
   * Records usage from one event; true when the event must be dropped. Only the `"usage"` object
   * is decoded (the event as a whole was checked already); an event too odd for that — usage split
   * over several data lines — is decoded whole.
   */
  private inspectEvent(buf: Buffer, from: number, to: number): boolean {
    const u = objectAfterKey(buf, USAGE, from, to)
    if (u === undefined) return this.inspectEventSlowly(buf, from, to)
    if (u === null) return false
    let usage
    try {
      usage = JSON.parse(buf.toString('utf8', u[0], u[1]))
    } catch {
      return this.inspectEventSlowly(buf, from, to)
    }
    if (this.protocol === 'openai') this.usage = usageFromOpenAI(usage)
    else if (this.protocol === 'responses') this.usage = usageFromResponses(usage)
    else this.recordAnthropic(usage)
    return this.strip && this.protocol === 'openai' && emptyArrayAfterKey(buf, CHOICES, from, to)
  }

  private inspectEventSlowly(buf: Buffer, from: number, to: number): boolean {
    try {
      const j = JSON.parse(decodeEvent(buf, from, to)?.data ?? '')
      this.record(j)
      return this.strip && this.protocol === 'openai' && Array.isArray(j.choices) && j.choices.length === 0
    } catch {
      return false
    }
  }

  private record(j: any): void {
    if (this.protocol === 'openai') {
      if (j.usage) this.usage = usageFromOpenAI(j.usage)
      return
    }
    if (this.protocol === 'responses') {
      if (j.response?.usage) this.usage = usageFromResponses(j.response.usage)
      return
    }
    // Anthropic: input tokens arrive in message_start, output tokens in message_delta.
    const u = j.type === 'message_start' ? j.message?.usage : j.usage
    if (u) this.recordAnthropic(u)
  }

  private recordAnthropic(u: any): void {
    const next = usageFromAnthropic(u)
    this.usage = this.usage
      ? { ...this.usage, ...next, inputTokens: next.inputTokens || this.usage.inputTokens }
      : next
  }
}

const DONE = Buffer.from('[DONE]')
const isDone = (b: Buffer, at: number) => b.length >= at + 6 && b[at + 1] === 0x44 && DONE.equals(b.subarray(at, at + 6))

/** `event:` at this offset. */
function isEventLine(b: Buffer, at: number): boolean {
  return b[at] === 0x65 && b[at + 1] === 0x76 && b[at + 2] === 0x65 && b[at + 3] === 0x6e && b[at + 4] === 0x74 && b[at + 5] === 0x3a
}

/**
 * One whole event decoded by the project's SSE parser — for the shapes the byte-level fast paths
 * leave alone (several data lines, comments, other fields). Undefined for an event without data.
 */
function decodeEvent(b: Buffer, from: number, to: number): SseEvent | undefined {
  const parser = createSseParser({ dispatchIncompleteOnEnd: true })
  return parser.push(b.subarray(from, to))[0] ?? parser.end()[0]
}

/** `data:` at this offset. */
function isDataLine(b: Buffer, at: number): boolean {
  return b[at] === 0x64 && b[at + 1] === 0x61 && b[at + 2] === 0x74 && b[at + 3] === 0x61 && b[at + 4] === 0x3a
}

function skipWs(b: Buffer, i: number, end: number): number {
  while (i < end && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0d || b[i] === 0x0a)) i++
  return i
}

/**
 * Where the value of the first `key` member in [from, to) starts, or -1. A key is the quoted name
 * followed by a colon — inside a JSON string the quotes would be escaped, so text never matches.
 */
function valueAfterKey(b: Buffer, key: Buffer, from: number, to: number): number {
  let at = b.indexOf(key, from)
  while (at >= 0 && at < to) {
    const colon = skipWs(b, at + key.length, to)
    if (b[colon] === 0x3a) return skipWs(b, colon + 1, to)
    at = b.indexOf(key, at + key.length)
  }
  return -1
}

/**
 * [start, end) of the object that is the value of `key`; null when the value is not an object
 * (`"usage": null`); undefined when the key is absent or the object does not close in range.
 */
function objectAfterKey(b: Buffer, key: Buffer, from: number, to: number): [number, number] | null | undefined {
  const open = valueAfterKey(b, key, from, to)
  if (open < 0) return undefined
  if (b[open] !== 0x7b) return null
  const end = objectEnd(b, open, to)
  return end < 0 ? undefined : [open, end]
}

/** Is the value of `key` an empty array? (OpenAI's usage-only chunk has `"choices":[]`.) */
function emptyArrayAfterKey(b: Buffer, key: Buffer, from: number, to: number): boolean {
  const at = valueAfterKey(b, key, from, to)
  return at >= 0 && b[at] === 0x5b && b[skipWs(b, at + 1, to)] === 0x5d
}

/** Index just after the `}` that closes the object opening at `open` (strings skipped), or -1. */
function objectEnd(b: Buffer, open: number, to: number): number {
  let depth = 0
  let inString = false
  for (let i = open; i < to; i++) {
    const c = b[i]
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b) depth++
    else if (c === 0x7d && --depth === 0) return i + 1
  }
  return -1
}

function hasBytes(b: Buffer, needle: Buffer, from: number, to: number): boolean {
  const at = b.indexOf(needle, from)
  return at >= 0 && at + needle.length <= to
}

/**
 * Is this one-choice OpenAI chunk an opening (role, empty content, no finish, no usage)? Judged on
 * the bytes; undefined when the shape is unusual (several choices, odd nesting) and the caller
 * should decode it.
 */
function openAIOpening(b: Buffer, from: number, to: number): boolean | undefined {
  const d = valueAfterKey(b, DELTA, from, to)
  if (d < 0 || b[d] !== 0x7b) return undefined
  const e = objectEnd(b, d, to)
  if (e < 0 || hasBytes(b, DELTA, e, to)) return undefined
  if (b.toString('latin1', d + 1, e - 1).replace(OPENING_DELTA, '') !== '') return false
  const f = valueAfterKey(b, FINISH, from, to)
  if (f >= 0 && b[f] !== 0x6e /* null */) return false
  const u = valueAfterKey(b, USAGE, from, to)
  return u < 0 || b[u] === 0x6e
}
