/**
 * Reads token usage out of responses that are otherwise forwarded byte for byte, and judges a
 * streamed answer as it passes (whole events, JSON data, completion). For OpenAI streams where the
 * gateway itself asked for usage (`stream_options.include_usage`), the extra usage-only chunk is
 * removed again before the client sees it.
 *
 * This module is the framing and the bookkeeping: whole events, the pass over each read, the
 * events to drop, the opening verdict. What each protocol's events mean (its end, its usage, its
 * opening) is in stream-rules/; a traced attempt's answer facts are noted there too, with the
 * helpers of answer-facts.ts.
 */
import type { AnswerContent, AnswerFacts, Usage } from '../types.js'
import type { CallerProtocol } from '../../protocols.js'
import { usageFromAnthropic, usageFromOpenAI } from './translate/usage.js'
import { usageFromResponses } from './translate/responses-envelope.js'
import { KeySpotter } from './json-syntax.js'
import { objectEnd } from './json-members.js'
import { createSseParser, type SseEvent } from './sse/sse-parser.js'
import { ScannedEvent, scanEvent } from './sse/event-scan.js'
import { dataOf, SCAN_KEYS, type StreamRules } from './stream-rules/rules.js'
import { OpenAIStreamRules } from './stream-rules/openai.js'
import { AnthropicStreamRules } from './stream-rules/anthropic.js'
import { ResponsesStreamRules } from './stream-rules/responses.js'

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

const EVENT_END = Buffer.from('\n\n')
const LF = 0x0a

/**
 * One for every tap: an event's marks are read before the next event is scanned, and nothing in
 * between yields, so taps cannot see each other's.
 */
const SCANNED = new ScannedEvent(new KeySpotter(SCAN_KEYS))
/** The same with `model` spotted too, for taps that keep AnswerFacts. */
const SCANNED_FACTS = new ScannedEvent(new KeySpotter([...SCAN_KEYS, 'model']))

/** noteDecoded's answer for an event whose data is not JSON. */
const BAD = -1
/** Not decoded: the protocol's bare end marker (`[DONE]`). */
const DONE = Symbol('done')

/**
 * Follows one streamed answer event by event: forwards whole events only, checks that every
 * event's data is JSON, and applies its protocol's rules (stream-rules/) — completion, finish
 * reasons, usage, the usage-only chunk to strip, the opening to hold. One pass over each chunk:
 * the usual event shape is read by scanEvent, which checks the JSON and spots the members the
 * rules look at on the way, so an event is decoded only when one of them is there (the role
 * chunk, a finish, usage: a few per stream). Any other shape is decoded with the SSE parser.
 */
export class SseUsageTap {
  /**
   * Set when an event's data is not JSON (nor OpenAI's `[DONE]`): what push() returned before it
   * is whole and valid, nothing after it is forwarded, and the stream is an upstream failure.
   */
  malformed: string | undefined
  private readonly rules: StreamRules
  /** A traced attempt on a rule that captures content: every event goes there too. */
  private readonly content: AnswerContent | undefined
  private readonly protocol: 'openai' | 'anthropic' | 'responses'
  /** Bytes after the last whole event, in the pieces they came in. */
  private carry: Buffer[] | undefined
  /** The last push() output judged whole, and whether it was all opening. */
  private judgedOut: Buffer | undefined
  private judgedOpening = false

  /**
   * `strip`: drop OpenAI usage-only chunks (the client did not ask for them). `choices` (the
   * request's `n`) and `usageRequested` judge a stream that ends without `[DONE]`. `facts`: keep the
   * answer's model and finish reasons there (a traced attempt; undefined costs nothing).
   */
  constructor(protocol: CallerProtocol, strip: boolean, choices = 1, usageRequested = strip, private readonly facts?: AnswerFacts) {
    this.content = facts?.content
    this.protocol = protocol
    this.rules = protocol === 'openai'
      ? new OpenAIStreamRules(facts, strip, choices, usageRequested)
      : protocol === 'anthropic' ? new AnthropicStreamRules(facts) : new ResponsesStreamRules(facts)
  }

  /** The usage the stream reported so far. */
  get usage(): Usage | undefined {
    return this.rules.usage
  }

  /** The provider's end marker went by (`[DONE]` / `message_stop`): the answer is whole. */
  get complete(): boolean {
    return this.rules.complete
  }

  /**
   * An OpenAI stream that closed without `[DONE]` is still whole when every choice reported its
   * finish_reason and, when the gateway asked for usage, the usage chunk arrived.
   */
  finishedWithoutMarker(): boolean {
    return this.malformed === undefined && this.rules.finishedWithoutMarker()
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
    const rules = this.rules
    const judging = rules.judging
    const ev = this.facts === undefined ? SCANNED : SCANNED_FACTS
    const len = buf.length
    const doneMarker = rules.doneMarker
    let pieces: Buffer[] | undefined // only when an event is dropped
    let from = 0 // start of the events to forward since the last dropped one
    let at = 0
    while (at < len) {
      let end: number
      let drop: boolean
      if (scanEvent(buf, at, len, ev, doneMarker)) {
        end = ev.end
        if (this.content !== undefined && !ev.done) this.content.event(this.protocol, dataOf(buf, ev))
        drop = rules.scanned(buf, ev)
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
    rules.endOfRead(buf)
    if (this.malformed === undefined && at < len) this.carry = [at === 0 ? buf : buf.subarray(at)]
    let out: Buffer | undefined
    if (pieces !== undefined) {
      pieces.push(buf.subarray(from, at))
      out = Buffer.concat(pieces)
      if (out.length === 0) out = undefined
    } else if (at > 0) out = at === len ? buf : buf.subarray(0, at)
    this.judgedOut = judging ? out : undefined
    this.judgedOpening = rules.judging
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
        if (!this.rules.isOpening(e.event, j)) return false
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
   * The rules for a block of any other shape [start, end), decoded with the SSE parser: 1 when
   * the block must be dropped, 0 when forwarded, BAD (and `malformed` set) when an event's data is
   * not JSON — then none of the block's events counts.
   */
  private noteDecoded(b: Buffer, start: number, end: number): number {
    const rules = this.rules
    const events = decodeEvents(b, start, end)
    const values: unknown[] = []
    for (const e of events) {
      if (rules.doneMarker && e.data === '[DONE]') {
        values.push(DONE)
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
    for (let i = 0; i < events.length; i++) {
      const j = values[i]
      if (j === DONE) rules.complete = true
      else {
        if (this.content !== undefined) this.content.event(this.protocol, j)
        drop = rules.parsed(events[i].event, j) || drop
      }
    }
    if (rules.judging && !drop) {
      for (let i = 0; i < events.length; i++) if (values[i] === DONE || !rules.isOpening(events[i].event, values[i])) rules.judging = false
    }
    return drop ? 1 : 0
  }
}

/** Every event of a block the byte-level path left alone, decoded by the project's SSE parser. */
function decodeEvents(b: Buffer, from: number, to: number): SseEvent[] {
  const parser = createSseParser({ dispatchIncompleteOnEnd: true })
  return [...parser.push(b.subarray(from, to)), ...parser.end()]
}
