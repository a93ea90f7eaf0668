/**
 * Reads token usage out of responses that are otherwise forwarded byte for byte, and judges a
 * streamed answer as it passes (whole events, JSON data, completion). For OpenAI streams where the
 * gateway itself asked for usage (`stream_options.include_usage`), the extra usage-only chunk is
 * removed again before the client sees it.
 *
 * Given an AnswerFacts (a traced attempt), the same pass also keeps the model that answered and the
 * finish reasons: a stream's scan spots `model` as well, a JSON body's syntax check spots the members
 * answerFactsFromJson reads, and events decoded for usage anyway give the rest. Without one nothing
 * more is looked at.
 */
import type { AnswerContent, AnswerFacts, Usage } from '../types.js'
import type { CallerProtocol, UpstreamProtocol } from '../../protocols.js'
import { usageFromAnthropic, usageFromOpenAI } from './translate/usage.js'
import { usageFromResponses } from './translate/responses-envelope.js'
import { KeySpotter } from './json-syntax.js'
import { createSseParser, type SseEvent } from './sse/sse-parser.js'
import { bytesAt, ScannedEvent, scanEvent } from './sse/event-scan.js'

const USAGE = Buffer.from('"usage"')

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

/** The members the tap looks for in an event's JSON, by their index in the spotter. */
const KEYS = ['usage', 'finish_reason', 'role', 'choices', 'type']
const K_USAGE = 0
const K_FINISH = 1
const K_ROLE = 2
const K_CHOICES = 3
const K_TYPE = 4
/** Spotted only for a traced answer (OpenAI chunks carry the model in every event). */
const K_MODEL = 5

/** The members of a JSON answer answerFactsFromJson reads, spotted by the syntax check (isJsonDocument). */
const ANSWER_KEYS = ['model', 'finish_reason', 'choices', 'stop_reason', 'status', 'incomplete_details']
const A_MODEL = 0
const A_FINISH = 1
const A_CHOICES = 2
const A_STOP = 3
const A_STATUS = 4
const A_INCOMPLETE = 5

/**
 * The spotter a traced JSON answer is checked with: `isJsonDocument(body, ANSWER_SPOT)`, then
 * answerFactsFromJson() reads its marks (nothing yields in between, so one instance serves all).
 */
export const ANSWER_SPOT = new KeySpotter(ANSWER_KEYS)

/**
 * The model and finish reasons of a JSON answer in `protocol`, from the marks `spot` left while
 * isJsonDocument checked it: only the values found are decoded (the `choices` array alone when
 * more than one choice finished).
 */
export function answerFactsFromJson(body: Buffer, protocol: CallerProtocol, spot: KeySpotter, facts: AnswerFacts): void {
  const end = body.length
  const model = memberOf(body, spot.top[A_MODEL], end)
  if (typeof model === 'string') facts.model = model
  if (protocol === 'openai') {
    if (spot.seen[A_FINISH] === 1 && spot.seen[A_CHOICES] <= 1) {
      const r = memberOf(body, spot.last[A_FINISH], end)
      if (typeof r === 'string') facts.finishReasons = [r]
    } else if (spot.seen[A_FINISH] > 1) finishReasonsOf(memberOf(body, spot.top[A_CHOICES], end), facts)
  } else if (protocol === 'anthropic') {
    const r = memberOf(body, spot.top[A_STOP], end)
    if (typeof r === 'string') facts.finishReasons = [r]
  } else {
    const status = memberOf(body, spot.top[A_STATUS], end)
    if (typeof status === 'string') facts.finishReasons = [responsesFinish(status, memberOf(body, spot.top[A_INCOMPLETE], end))]
  }
}

/**
 * The same from an upstream answer the gateway decoded whole to translate it, in the upstream's
 * own words (Bedrock's Converse answer names no model: the caller of this keeps the one it sent).
 */
export function answerFactsFromUpstream(body: any, protocol: UpstreamProtocol, facts: AnswerFacts): void {
  const model = protocol === 'gemini' ? body?.modelVersion : body?.model
  if (typeof model === 'string') facts.model = model
  if (protocol === 'openai') finishReasonsOf(body?.choices, facts)
  else if (protocol === 'anthropic') {
    if (typeof body?.stop_reason === 'string') facts.finishReasons = [body.stop_reason]
  } else if (protocol === 'gemini') {
    const cs = body?.candidates
    if (Array.isArray(cs)) for (let i = 0; i < cs.length; i++) noteReason(facts, Number(cs[i]?.index ?? i), cs[i]?.finishReason)
  } else if (typeof body?.stopReason === 'string') facts.finishReasons = [body.stopReason]
}

/** OpenAI choices → finish reasons by choice index. */
function finishReasonsOf(cs: unknown, facts: AnswerFacts): void {
  if (!Array.isArray(cs)) return
  for (const c of cs) noteReason(facts, Number(c?.index ?? 0), c?.finish_reason)
}

/** Choice indexes above this (a request asks for at most 128) are not kept apart. */
const MAX_CHOICE = 127

function noteReason(facts: AnswerFacts, index: number, reason: unknown): void {
  if (typeof reason !== 'string') return
  const i = index >= 0 && index <= MAX_CHOICE ? Math.floor(index) : 0
  ;(facts.finishReasons ??= [])[i] = reason
}

/** A Responses object's finish: its status, or why it is incomplete (`max_output_tokens`, `content_filter`). */
function responsesFinish(status: string, incomplete: any): string {
  return status === 'incomplete' && typeof incomplete?.reason === 'string' ? incomplete.reason : status
}

const EVENT_END = Buffer.from('\n\n')
const LF = 0x0a

/** Event types (the `event:` field, or the data's `type`) the completion and opening rules name. */
class Names {
  private readonly bytes: Buffer[]
  constructor(readonly strings: readonly string[]) {
    this.bytes = strings.map((s) => Buffer.from(s))
  }

  /** Index of the name that is exactly the bytes [from, to), or -1 (also for from = -1: no name). */
  find(b: Buffer, from: number, to: number): number {
    if (from < 0) return -1
    for (let k = 0; k < this.bytes.length; k++) if (this.bytes[k].length === to - from && bytesAt(b, from, this.bytes[k])) return k
    return -1
  }

  /** Index of the name the JSON value at `at` is (as a string), or -1; escapes are decoded, rarely. */
  findString(b: Buffer, at: number, end: number): number {
    if (at < 0 || b[at] !== 0x22) return -1
    let i = at + 1
    let escaped = false
    while (i < end && b[i] !== 0x22) {
      if (b[i] === 0x5c) {
        escaped = true
        i++
      }
      i++
    }
    return escaped ? this.strings.indexOf(JSON.parse(b.toString('utf8', at, i + 1))) : this.find(b, at + 1, i)
  }
}

const ANTHROPIC_STOP = new Names(['message_stop'])
const ANTHROPIC_OPENINGS = new Names(['message_start', 'ping'])
/** The Responses API ends a stream with one of the first four, as the provider decided; the last two open it. */
const RESPONSES_TYPES = new Names(['response.completed', 'response.failed', 'response.incomplete', 'error', 'response.created', 'response.in_progress'])
const RESPONSES_ENDS = 4

/**
 * One for every tap: an event's marks are read before the next event is scanned, and nothing in
 * between yields, so taps cannot see each other's.
 */
const SCANNED = new ScannedEvent(new KeySpotter(KEYS))
/** The same with `model` spotted too, for taps that keep AnswerFacts. */
const SCANNED_FACTS = new ScannedEvent(new KeySpotter([...KEYS, 'model']))

/**
 * OpenAI role chunks of the read push() is in, not decoded yet: (choices value, data end) pairs. The
 * opening verdict is the AND over the read's events, so they are judged only while it is still true.
 * Shared like SCANNED: push() empties it before it returns.
 */
const PENDING_ROLES: number[] = []

/** noteDecoded's answer for an event whose data is not JSON. */
const BAD = -1
/** Not decoded yet (scanEvent's events are decoded only when a rule needs their values). */
const UNREAD = Symbol('unread')

/**
 * Follows one streamed answer event by event: forwards whole events only, checks that every
 * event's data is JSON, and applies its protocol's rules — completion (`[DONE]`, `message_stop`,
 * a Responses terminal event), finish_reasons per choice, usage, the usage-only chunk to strip,
 * the opening to hold. One pass over each chunk: the usual event shape is read by scanEvent, which
 * checks the JSON and spots the members these rules look at on the way, so an event is decoded
 * only when one of them is there (the role chunk, a finish, usage: a few per stream). Any other
 * shape is decoded with the SSE parser.
 */
export class SseUsageTap {
  usage: Usage | undefined
  /** The provider's end marker went by (`[DONE]` / `message_stop`): the answer is whole. */
  complete = false
  /**
   * Set when an event's data is not JSON (nor OpenAI's `[DONE]`): what push() returned before it
   * is whole and valid, nothing after it is forwarded, and the stream is an upstream failure.
   */
  malformed: string | undefined
  /** Bytes after the last whole event, in the pieces they came in. */
  private carry: Buffer[] | undefined
  /** OpenAI choice indexes that reported a finish_reason. */
  private finished: Set<number> | undefined
  /** Events scanEvent saw a non-null finish_reason in: their `choices` value, decoded by finishedWithoutMarker(). */
  private unreadFinishes: { b: Buffer; at: number; end: number }[] | undefined
  /** Every event forwarded so far was an opening: push() still judges each one. */
  private judging = true
  /** The last push() output judged whole, and whether it was all opening. */
  private judgedOut: Buffer | undefined
  private judgedOpening = false
  /** A traced attempt on a rule that captures content: every event goes there too (Chat and Messages streams). */
  private readonly content: AnswerContent | undefined

  /**
   * `strip`: drop OpenAI usage-only chunks (the client did not ask for them). `choices` (the
   * request's `n`) and `usageRequested` judge a stream that ends without `[DONE]`. `facts`: keep the
   * answer's model and finish reasons there (a traced attempt; undefined costs nothing).
   */
  constructor(private readonly protocol: CallerProtocol, private readonly strip: boolean, private readonly choices = 1, private readonly usageRequested = strip, private readonly facts?: AnswerFacts) {
    this.content = protocol === 'responses' ? undefined : facts?.content
  }

  /**
   * An OpenAI stream that closed without `[DONE]` is still whole when every choice reported its
   * finish_reason and, when the gateway asked for usage, the usage chunk arrived.
   */
  finishedWithoutMarker(): boolean {
    if (this.protocol !== 'openai' || this.malformed !== undefined) return false
    const unread = this.unreadFinishes
    if (unread !== undefined) {
      this.unreadFinishes = undefined
      for (const f of unread) this.noteFinishes(memberOf(f.b, f.at, f.end))
    }
    return (this.finished?.size ?? 0) >= this.choices && (!this.usageRequested || this.usage !== undefined)
  }

  /** Returns the bytes to forward now: whole events only; a partial tail waits for its end. */
  push(chunk: Buffer): Buffer | undefined {
    if (this.malformed !== undefined) return undefined
    let buf = chunk
    if (this.carry !== undefined) {
      const carry = this.carry
      const last = carry[carry.length - 1]
      // Nothing can end before a blank line does: a long event is gathered, not rescanned per piece.
      if (chunk.indexOf(EVENT_END) < 0 && !(last[last.length - 1] === LF && chunk[0] === LF)) {
        carry.push(chunk)
        return undefined
      }
      carry.push(chunk)
      buf = Buffer.concat(carry)
      this.carry = undefined
    }
    const judging = this.judging
    const ev = this.facts === undefined ? SCANNED : SCANNED_FACTS
    const len = buf.length
    const openai = this.protocol === 'openai'
    let pieces: Buffer[] | undefined // only when an event is dropped
    let from = 0 // start of the events to forward since the last dropped one
    let at = 0
    while (at < len) {
      let end: number
      let drop: boolean
      if (scanEvent(buf, at, len, ev, openai)) {
        end = ev.end
        drop = this.noteScanned(buf, ev)
      } else {
        end = buf.indexOf(EVENT_END, at)
        if (end < 0) break
        end += 2
        const d = this.noteDecoded(buf, at, end)
        if (d === BAD) break
        drop = d === 1
      }
      if (drop) {
        ;(pieces ??= []).push(buf.subarray(from, at))
        from = end
      }
      at = end
    }
    const roles = PENDING_ROLES
    if (roles.length > 0) {
      for (let i = 0; i < roles.length && this.judging; i += 2) this.judging = choicesOpening(memberOf(buf, roles[i], roles[i + 1]))
      roles.length = 0
    }
    if (this.malformed === undefined && at < len) this.carry = [at === 0 ? buf : buf.subarray(at)]
    let out: Buffer | undefined
    if (pieces !== undefined) {
      pieces.push(buf.subarray(from, at))
      out = Buffer.concat(pieces)
      if (out.length === 0) out = undefined
    } else if (at > 0) out = at === len ? buf : buf.subarray(0, at)
    this.judgedOut = judging ? out : undefined
    this.judgedOpening = this.judging
    return out
  }

  /**
   * Whether these whole events are only the stream's opening — OpenAI chunks whose deltas carry
   * nothing but the role (empty content), Anthropic `message_start` / `ping`, Responses
   * `response.created` / `response.in_progress`, comments — so the caller can hold them until
   * real output follows. Called only before anything was written; push() judged its own output
   * on the way, so for that this is a lookup.
   */
  openingOnly(buf: Buffer): boolean {
    if (buf === this.judgedOut) return this.judgedOpening
    let start = 0
    while (start < buf.length) {
      let end = buf.indexOf(EVENT_END, start)
      end = end < 0 ? buf.length : end + 2
      for (const e of decodeEvents(buf, start, end)) {
        let j: unknown
        try {
          j = JSON.parse(e.data)
        } catch {
          return false
        }
        if (!this.isOpening(e.event, j)) return false
      }
      start = end
    }
    return true
  }

  /** Whatever is left when the upstream ends (a stream without a final blank line). */
  flush(): Buffer | undefined {
    const rest = this.carry
    this.carry = undefined
    return rest === undefined ? undefined : rest.length === 1 ? rest[0] : Buffer.concat(rest)
  }

  /**
   * The rules for one event read by scanEvent, decoding its data only when a spotted member needs
   * it; true when the event must be dropped.
   */
  private noteScanned(b: Buffer, ev: ScannedEvent): boolean {
    if (ev.done) {
      this.complete = true
      this.judging = false
      return false
    }
    if (this.content !== undefined) this.content.event(this.protocol as 'openai' | 'anthropic', dataOf(b, ev))
    const k = ev.keys
    if (this.protocol === 'openai') {
      // The rules read two top-level members: `choices` (decoded alone when one is needed) and `usage`.
      let drop = false
      // Finishes matter only to a stream that ends without its marker (decoded then, if ever), or
      // to a traced one (decoded now: a few events per stream).
      const facts = this.facts
      if (k.seen[K_FINISH] > 0) {
        if (facts !== undefined) this.noteFinishes(memberOf(b, k.top[K_CHOICES], ev.dataEnd))
        else (this.unreadFinishes ??= []).push({ b, at: k.top[K_CHOICES], end: ev.dataEnd })
      }
      if (facts !== undefined && facts.model === undefined) {
        const m = memberOf(b, k.top[K_MODEL], ev.dataEnd)
        if (typeof m === 'string') facts.model = m
      }
      const u = k.top[K_USAGE]
      if (u >= 0 && b[u] === 0x7b) {
        this.usage = usageFromOpenAI(memberOf(b, u, ev.dataEnd) as any)
        drop = this.strip && emptyArrayAt(b, k.top[K_CHOICES], ev.dataEnd)
      }
      // A chunk without a role is never an opening (most chunks), nor one with usage. One with a
      // role is decoded only if the verdict still depends on it when the read is done (PENDING_ROLES):
      // in a read that also carries real output, it does not.
      if (this.judging && !drop) {
        if (!(k.seen[K_ROLE] > 0 && (u < 0 || b[u] === 0x6e))) this.judging = false
        else PENDING_ROLES.push(k.top[K_CHOICES], ev.dataEnd)
      }
      return drop
    }
    if (this.protocol === 'anthropic') {
      if (ANTHROPIC_STOP.find(b, ev.nameStart, ev.nameEnd) >= 0 || ANTHROPIC_STOP.findString(b, k.top[K_TYPE], ev.dataEnd) >= 0) this.complete = true
      if (k.seen[K_USAGE] > 0) this.recordAnthropicEvent(dataOf(b, ev))
      if (this.judging && ANTHROPIC_OPENINGS.find(b, ev.nameStart, ev.nameEnd) < 0) this.judging = false
      return false
    }
    const t = ev.nameStart >= 0 ? RESPONSES_TYPES.find(b, ev.nameStart, ev.nameEnd) : RESPONSES_TYPES.findString(b, k.top[K_TYPE], ev.dataEnd)
    if (t >= 0 && t < RESPONSES_ENDS) this.complete = true
    if (k.seen[K_USAGE] > 0) this.recordResponses(dataOf(b, ev))
    if (this.judging && t < RESPONSES_ENDS) this.judging = false
    return false
  }

  /**
   * The same rules for a block of any other shape [start, end), decoded with the SSE parser: 1 when
   * the block must be dropped, 0 when forwarded, BAD (and `malformed` set) when an event's data is
   * not JSON — then none of the block's events counts.
   */
  private noteDecoded(b: Buffer, start: number, end: number): number {
    const events = decodeEvents(b, start, end)
    const values: unknown[] = []
    for (const e of events) {
      if (this.protocol === 'openai' && e.data === '[DONE]') {
        values.push(UNREAD)
        continue
      }
      try {
        values.push(JSON.parse(e.data))
      } catch {
        this.malformed = e.data.length > 80 ? `${e.data.slice(0, 80)}…` : e.data
        this.carry = undefined
        return BAD
      }
    }
    let drop = false
    const content = this.content
    for (let i = 0; i < events.length; i++) {
      const j = values[i]
      if (j === UNREAD) this.complete = true
      else {
        if (content !== undefined) content.event(this.protocol as 'openai' | 'anthropic', j)
        drop = this.noteParsed(events[i].event, j) || drop
      }
    }
    if (this.judging && !drop) {
      for (let i = 0; i < events.length; i++) if (values[i] === UNREAD || !this.isOpening(events[i].event, values[i])) this.judging = false
    }
    return drop ? 1 : 0
  }

  /** The rules on a decoded event (`type`: its `event:` field); true when it must be dropped. */
  private noteParsed(type: string | undefined, j: any): boolean {
    if (this.protocol === 'openai') {
      this.noteFinishes(j?.choices)
      const facts = this.facts
      if (facts !== undefined && facts.model === undefined && typeof j?.model === 'string') facts.model = j.model
      return this.recordOpenAI(j)
    }
    if (this.protocol === 'anthropic') {
      if (type === 'message_stop' || j?.type === 'message_stop') this.complete = true
      this.recordAnthropicEvent(j)
      return false
    }
    const t = RESPONSES_TYPES.strings.indexOf(type ?? j?.type)
    if (t >= 0 && t < RESPONSES_ENDS) this.complete = true
    this.recordResponses(j)
    return false
  }

  private isOpening(type: string | undefined, j: any): boolean {
    if (this.protocol === 'openai') return isOpenAIOpening(j)
    if (this.protocol === 'anthropic') return type === 'message_start' || type === 'ping'
    return RESPONSES_TYPES.strings.indexOf(type ?? j?.type) >= RESPONSES_ENDS
  }

  private noteFinishes(cs: unknown): void {
    if (!Array.isArray(cs)) return
    for (const c of cs) {
      if (c?.finish_reason == null) continue
      ;(this.finished ??= new Set()).add(Number(c.index ?? 0))
      if (this.facts !== undefined) noteReason(this.facts, Number(c.index ?? 0), c.finish_reason)
    }
  }

  /** True when this is the usage-only chunk the gateway asked for itself. */
  private recordOpenAI(j: any): boolean {
    const u = j?.usage
    if (!isObject(u)) return false
    this.usage = usageFromOpenAI(u)
    return this.strip && Array.isArray(j.choices) && j.choices.length === 0
  }

  /** Anthropic: input tokens arrive in message_start, output tokens in message_delta. */
  private recordAnthropicEvent(j: any): void {
    const facts = this.facts
    if (facts !== undefined) {
      // message_start names the model, message_delta says why it stopped: both carry usage, so both are decoded anyway.
      if (j?.type === 'message_start' && typeof j.message?.model === 'string') facts.model = j.message.model
      else if (j?.type === 'message_delta' && typeof j.delta?.stop_reason === 'string') facts.finishReasons = [j.delta.stop_reason]
    }
    const u = j?.type === 'message_start' ? j.message?.usage : j?.usage
    if (!isObject(u)) return
    const next = usageFromAnthropic(u)
    this.usage = this.usage ? { ...this.usage, ...next, inputTokens: next.inputTokens || this.usage.inputTokens } : next
  }

  private recordResponses(j: any): void {
    const facts = this.facts
    const r = j?.response
    if (facts !== undefined && r !== null && typeof r === 'object') {
      if (typeof r.model === 'string') facts.model = r.model
      if (typeof r.status === 'string') facts.finishReasons = [responsesFinish(r.status, r.incomplete_details)]
    }
    const u = j?.response?.usage
    if (isObject(u)) this.usage = usageFromResponses(u)
  }
}

const isObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v)

/** An event scanEvent read, decoded after all (its JSON was checked, so this cannot throw). */
const dataOf = (b: Buffer, ev: ScannedEvent): unknown => JSON.parse(b.toString('utf8', ev.dataStart, ev.dataEnd))

/** Is this OpenAI chunk an opening? No usage, and choices that are (see choicesOpening). */
function isOpenAIOpening(j: any): boolean {
  return (j?.usage === undefined || j.usage === null) && choicesOpening(j?.choices)
}

/**
 * Every choice's delta holds nothing but the role (at least one does), empty content or a null
 * refusal, and none has finished.
 */
function choicesOpening(cs: unknown): boolean {
  if (!Array.isArray(cs) || cs.length === 0) return false
  let role = false
  for (const c of cs) {
    const d = c?.delta
    if (c?.finish_reason != null || d === null || typeof d !== 'object') return false
    for (const [k, v] of Object.entries(d)) {
      if (k === 'role') role ||= v != null
      else if (!((k === 'content' || k === 'refusal') && (v === '' || v === null))) return false
    }
  }
  return role
}

/** The decoded value of a member scanEvent spotted at `at` (undefined for -1: there is none). */
function memberOf(b: Buffer, at: number, end: number): unknown {
  if (at < 0) return undefined
  const c = b[at]
  return JSON.parse(b.toString('utf8', at, c === 0x7b || c === 0x5b ? containerEnd(b, at, end) : valueEnd(b, at, end)))
}

/** Every event of a block the byte-level path left alone, decoded by the project's SSE parser. */
function decodeEvents(b: Buffer, from: number, to: number): SseEvent[] {
  const parser = createSseParser({ dispatchIncompleteOnEnd: true })
  return [...parser.push(b.subarray(from, to)), ...parser.end()]
}

/** Is the JSON value at `at` an empty array? (OpenAI's usage-only chunk has `"choices":[]`.) */
function emptyArrayAt(b: Buffer, at: number, to: number): boolean {
  if (at < 0 || b[at] !== 0x5b) return false
  let i = at + 1
  while (i < to && (b[i] === 0x20 || b[i] === 0x09)) i++
  return b[i] === 0x5d
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

/** Index just after the object or array opening at `open`, in JSON already checked (strings skipped). */
function containerEnd(b: Buffer, open: number, to: number): number {
  let depth = 0
  for (let i = open; i < to; i++) {
    const c = b[i]
    if (c === 0x22) {
      for (i++; b[i] !== 0x22; i++) if (b[i] === 0x5c) i++
    } else if (c === 0x7b || c === 0x5b) depth++
    else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i + 1
  }
  return to
}

/** Index just after a string, number or literal at `at`, in JSON already checked. */
function valueEnd(b: Buffer, at: number, to: number): number {
  if (b[at] === 0x22) {
    let i = at + 1
    for (; b[i] !== 0x22; i++) if (b[i] === 0x5c) i++
    return i + 1
  }
  let i = at
  while (i < to && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d && b[i] !== 0x20 && b[i] !== 0x09) i++
  return i
}

