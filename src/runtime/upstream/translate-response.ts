/**
 * Answers a caller whose protocol the upstream does not speak: a JSON answer is decoded whole and
 * translated, an SSE or AWS event-stream is translated event by event as it arrives. A translated
 * answer that fails before the client got anything (an unreadable body, an upstream error event)
 * is an upstream failure like a reset: retried or failed over, else a plain error answer.
 */
import type { UpstreamProtocol } from '../../compiler/ir.js'
import type { AnswerContent } from '../types.js'
import { RefusedAnswer } from '../errors.js'
import { startResponse } from '../http/respond.js'
import { createSseParser, type SseParser } from '../providers/sse/sse-parser.js'
import { createEventStreamDecoder, type EventStreamDecoder } from '../providers/translate/aws-event-stream.js'
import { usageFromAnthropic, usageFromOpenAI, usageFromResponses, type CallerProtocol, type StreamTranslator } from '../providers/translate/index.js'
import { answerFactsFromUpstream } from '../providers/answer-facts.js'
import type { Exchange, ResponseStrategy } from './exchange.js'
import { HeldAnswer } from './held-answer.js'
import { OpeningHold } from './opening-hold.js'

/** A translated JSON answer is decoded whole: beyond this it is a 502, not an unbounded buffer. */
const TRANSLATED_BODY_LIMIT = 16 * 1024 * 1024
/** One translated stream event (SSE or event-stream message) may not grow past this. */
const STREAM_EVENT_LIMIT = 4 * 1024 * 1024

/** The strategy for a 2xx answer to translate, by its content type ('' when none). */
export function translated(x: Exchange, contentType: string): ResponseStrategy {
  if (contentType.startsWith('application/vnd.amazon.eventstream')) return new TranslateStream(x, false)
  if (contentType.startsWith('text/event-stream')) return new TranslateStream(x, true)
  return new TranslateJson(x)
}

export class TranslateJson extends HeldAnswer {
  constructor(x: Exchange) {
    super(x, TRANSLATED_BODY_LIMIT)
  }

  end(): void {
    const x = this.x
    const ctx = x.ctx
    let out: unknown
    try {
      const parsed = JSON.parse(this.body().toString('utf8'))
      // A 200 error object translates into an empty "success": refuse it like a broken body.
      if (!hasUpstreamSuccessShape(parsed, x.upstreamProtocol)) throw new Error('not a success object')
      out = x.translator!.response(parsed, { model: x.model, request: ctx.json })
      // A traced attempt: the model and finish reasons, in the upstream's words, from the decoded answer.
      if (ctx.answerFacts !== undefined) {
        answerFactsFromUpstream(parsed, x.upstreamProtocol, ctx.answerFacts)
        ctx.answerFacts.content?.whole(x.upstreamProtocol, parsed)
      }
    } catch {
      // Like a reset: retried or failed over before anything is sent, else a 502. (No parser
      // message: it quotes the body, which may echo a credential.)
      return x.refuse(new RefusedAnswer('SY_MALFORMED', `the upstream answered ${this.status} with a body that is not a readable ${x.upstreamProtocol} response`))
    }
    ctx.usage = usageOfCallerBody(out, x.caller)
    startResponse(ctx, 200, [['content-type', 'application/json']])
    x.finish(Buffer.from(JSON.stringify(out)))
  }
}

/** An SSE (`sse`) or AWS event-stream answer, translated event by event into the caller's SSE. */
export class TranslateStream implements ResponseStrategy {
  readonly streaming = true
  private readonly st: StreamTranslator<any>
  private readonly sse: SseParser | undefined
  private readonly evs: EventStreamDecoder | undefined
  private opening: OpeningHold | undefined
  /** A traced attempt on a rule that captures content: the upstream's events, as parsed for the translator. */
  private readonly content: AnswerContent | undefined

  constructor(private readonly x: Exchange, sse: boolean) {
    this.content = x.ctx.answerFacts?.content
    if (sse) this.sse = createSseParser()
    else this.evs = createEventStreamDecoder()
    const json = x.ctx.json
    // Usage the gateway asked for on an earlier pass-through attempt (ctx.json keeps it) is not the client's.
    this.st = x.translator!.stream({ model: x.model, includeUsage: x.caller === 'openai' && json?.stream_options?.include_usage === true && !x.ctx.usageInjected, request: json })
  }

  start(): void {
    this.x.openStream()
  }

  data(chunk: Buffer): void {
    const x = this.x
    const st = this.st
    let text = ''
    const content = this.content
    if (this.sse !== undefined) {
      for (const ev of this.sse.push(chunk)) {
        text += st.push(ev)
        if (content !== undefined) content.event(x.upstreamProtocol, ev)
      }
      if (this.sse.pendingChars > STREAM_EVENT_LIMIT) return x.abort(new RefusedAnswer('SY_TOO_LARGE', `an upstream event exceeds ${STREAM_EVENT_LIMIT} bytes`))
    } else {
      try {
        for (const m of this.evs!.push(chunk)) {
          text += st.push(m)
          if (content !== undefined) content.event(x.upstreamProtocol, m)
        }
      } catch (e) {
        return x.abort(e as Error)
      }
    }
    // Failed (unreadable event, upstream error event) before the client got anything: an upstream
    // failure like any other — not a 200 stream holding only an error event.
    const f = x.committed ? undefined : st.failure()
    if (f !== undefined) return x.abort(new RefusedAnswer('SY_MALFORMED', f.message))
    // The opening alone is held until real output follows (see OpeningHold).
    if (!x.committed && !st.substantive()) {
      if (text !== '') (this.opening ??= new OpeningHold(x)).hold(Buffer.from(text))
      return
    }
    this.opening?.release()
    if (text !== '') x.write(Buffer.from(text))
  }

  end(): void {
    const x = this.x
    const ctx = x.ctx
    const st = this.st
    let text = this.opening?.take()?.toString('utf8') ?? ''
    if (this.sse !== undefined) {
      for (const ev of this.sse.end()) {
        text += st.push(ev)
        this.content?.event(x.upstreamProtocol, ev)
      }
    }
    text += st.end()
    const failure = x.committed ? undefined : st.failure()
    // Ended (or errored) before the client saw anything: retry / fail over as for a reset.
    if (failure !== undefined) return x.refuse(new RefusedAnswer('SY_TRUNCATED', failure.message))
    let last: Buffer | undefined = text === '' ? undefined : Buffer.from(text)
    const cont = ctx.attempt?.continuation
    if (cont !== undefined && last !== undefined) {
      // The closing chunks belong to the continuation too: the original id, and the restart check.
      const out = cont.push(last)
      if (cont.refused) return x.refuse(new RefusedAnswer('SY_RESTARTED'))
      last = out.length === 0 ? undefined : out
    }
    ctx.usage = st.usage()
    const facts = ctx.answerFacts
    if (facts !== undefined && st.answer !== undefined) {
      const a = st.answer()
      if (a.model !== undefined && a.model !== '') facts.model = a.model
      if (a.stop !== undefined) facts.finishReasons = [a.stop]
    }
    if (st.failure() === undefined) x.streamSucceeded()
    else x.streamFailed()
    x.finish(last)
  }

  stop(): void {
    this.opening?.take()
  }
}

/** Usage of a translated body, read in the caller's vocabulary. */
function usageOfCallerBody(body: any, caller: CallerProtocol) {
  if (!body?.usage) return undefined
  return caller === 'openai' ? usageFromOpenAI(body.usage) : caller === 'responses' ? usageFromResponses(body.usage) : usageFromAnthropic(body.usage)
}

/** What each upstream protocol's whole success answer holds at its top level. */
const UPSTREAM_SUCCESS_KEYS: Record<UpstreamProtocol, string> = { openai: 'choices', anthropic: 'content', gemini: 'candidates', bedrock: 'output' }
function hasUpstreamSuccessShape(body: unknown, protocol: UpstreamProtocol): boolean {
  if (typeof body !== 'object' || body === null) return false
  const v = (body as Record<string, unknown>)[UPSTREAM_SUCCESS_KEYS[protocol]]
  if (protocol === 'bedrock') return typeof v === 'object' && v !== null
  // Gemini answers a blocked prompt with promptFeedback and no candidates: a real (filtered) answer.
  if (protocol === 'gemini' && v === undefined) return typeof (body as { promptFeedback?: unknown }).promptFeedback === 'object'
  return Array.isArray(v)
}
