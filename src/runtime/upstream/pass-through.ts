/**
 * Answers in the upstream's own protocol (the caller speaks it too): the bytes go through as
 * received. A JSON answer is held whole and vouched for first, an SSE stream has its usage tapped
 * and its completion checked, anything else streams as it comes.
 *
 * hot path -- change with care: this is the benchmark's lane.
 */
import { RefusedAnswer } from '../errors.js'
import { isJsonDocument } from '../providers/json-syntax.js'
import { SseUsageTap, usageFromJsonBody } from '../providers/usage-tap.js'
import { ANSWER_SPOT, answerFactsFromJson } from '../providers/answer-facts.js'
import type { Exchange, ResponseStrategy, UpstreamHeaders } from './exchange.js'
import { HeldAnswer } from './held-answer.js'
import { OpeningHold } from './opening-hold.js'

/** Non-streamed bodies up to this size are sent in one write with a content-length. */
const BUFFER_LIMIT = 8 * 1024 * 1024
const OPENAI_DONE = Buffer.from('data: [DONE]\n\n')
const NOT_CHECKED = 0
const ANY_JSON = 1
/** The key every success object of an operation has; other paths only need a complete document. */
const SUCCESS_KEYS: Record<string, Buffer> = {
  chat: Buffer.from('"choices"'), messages: Buffer.from('"content"'), responses: Buffer.from('"output"'), embeddings: Buffer.from('"data"'), count_tokens: Buffer.from('"input_tokens"'),
}

/**
 * The strategy for a 2xx answer in the caller's protocol (other statuses are error answers, held
 * and scrubbed). `contentType` is '' when there is none.
 */
export function passThrough(x: Exchange, contentType: string, headers: UpstreamHeaders): ResponseStrategy {
  if (contentType.startsWith('text/event-stream')) return new PassSse(x)
  const len = Number(headers['content-length'])
  // An API the gateway knows answers JSON: anything else (an HTML error page with a 200) is checked too, and fails.
  const json = contentType.includes('json') || Object.hasOwn(SUCCESS_KEYS, x.op)
  // A JSON answer is held whole and checked before anything is sent (one without a length too,
  // up to the limit); other bodies are held only when their known length allows.
  if (x.ctx.attempt?.continuation === undefined && ((json && !(len > BUFFER_LIMIT)) || (len >= 0 && len <= BUFFER_LIMIT))) {
    return new PassJson(x, json ? SUCCESS_KEYS[x.op] ?? ANY_JSON : NOT_CHECKED)
  }
  return new PassRaw(x)
}

/**
 * An answer held whole (up to BUFFER_LIMIT) and sent in one write with a content-length. A JSON one
 * must be a complete document (with its operation's success key) to pass as the upstream's answer.
 */
export class PassJson extends HeldAnswer {
  /** Outgrew BUFFER_LIMIT (it had no content-length): sent as it comes, unchecked. */
  private spilled = false

  /**
   * `vouchFor`: NOT_CHECKED (not JSON), ANY_JSON (a complete document), or the key of the
   * operation's success object.
   */
  constructor(x: Exchange, private readonly vouchFor: Buffer | typeof NOT_CHECKED | typeof ANY_JSON) {
    super(x, BUFFER_LIMIT)
  }

  override data(chunk: Buffer): void {
    if (this.spilled) return this.x.write(chunk)
    this.size += chunk.length
    this.parts.push(chunk)
    if (this.size > BUFFER_LIMIT) this.spill()
  }

  private spill(): void {
    this.spilled = true
    this.x.forwardHead(this.status, this.headers!)
    const parts = this.parts
    for (let i = 0; i < parts.length; i++) this.x.write(parts[i])
    parts.length = 0
  }

  override end(): void {
    const x = this.x
    if (this.spilled) return x.finish()
    const body = this.body()
    const expect = this.vouchFor
    // A traced attempt's check also spots the model and finish reasons (the same pass).
    const facts = x.ctx.answerFacts
    const spot = facts === undefined ? undefined : ANSWER_SPOT
    if (expect !== NOT_CHECKED && !(isJsonDocument(body, spot) && (expect === ANY_JSON || body.indexOf(expect) !== -1))) {
      // A 200 the gateway cannot vouch for is a failure like a reset: retried or failed over
      // before anything is sent, else a 502 — never passed on as a success.
      return x.refuse(new RefusedAnswer('SY_MALFORMED', `the upstream answered ${this.status} with a body that is not a complete JSON ${expect === ANY_JSON ? 'document' : `response (no ${expect.toString()})`}`))
    }
    // A Responses object counts input_tokens / output_tokens; a stored one read back costs nothing.
    const op = x.op
    const protocol = x.upstreamProtocol
    if (this.status < 300 && op !== 'stored_response' && (protocol === 'openai' || protocol === 'anthropic')) {
      x.ctx.usage = usageFromJsonBody(body, op === 'responses' ? 'responses' : protocol)
      if (spot !== undefined && expect !== NOT_CHECKED) {
        answerFactsFromJson(body, op === 'responses' ? 'responses' : protocol, spot, facts!)
        // A rule that captures content: the answer, decoded (vouched for above, so it parses).
        if (facts!.content !== undefined) facts!.content.whole(op === 'responses' ? 'responses' : protocol, JSON.parse(body.toString('utf8')))
      }
    }
    x.streamSucceeded()
    x.forwardHead(this.status, this.headers!)
    x.finish(body)
  }
}

/** An SSE stream in the caller's own protocol: forwarded event by event, usage tapped, completion checked. */
export class PassSse implements ResponseStrategy {
  readonly streaming = true
  private readonly tap: SseUsageTap | undefined
  private opening: OpeningHold | undefined

  constructor(private readonly x: Exchange) {
    // Known APIs are judged by their own completion rule; any other path by its transport only.
    const op = x.op
    if ((op === 'chat' || op === 'messages' || op === 'responses')) {
      const json = x.ctx.json
      this.tap = new SseUsageTap(op === 'responses' ? 'responses' : x.caller === 'anthropic' ? 'anthropic' : 'openai', x.injectedUsage, choicesOf(json), json?.stream_options?.include_usage === true, x.ctx.answerFacts)
    }
  }

  start(status: number, headers: UpstreamHeaders): void {
    this.x.forwardHead(status, headers)
  }

  data(chunk: Buffer): void {
    const x = this.x
    const tap = this.tap
    const out = tap !== undefined ? tap.push(chunk) : chunk
    if (out !== undefined) {
      // The opening alone (role chunk / message_start) waits for real output: an upstream that
      // dies right after it has still sent the client nothing, and can be retried invisibly.
      if (!x.committed && tap !== undefined && tap.openingOnly(out)) (this.opening ??= new OpeningHold(x)).hold(out)
      else {
        this.opening?.release()
        x.write(out)
      }
    }
    if (tap?.malformed !== undefined) {
      // The events before it are forwarded; the unreadable one is an upstream failure (retried
      // when nothing reached the client yet, else an error event ends the stream).
      x.abort(new RefusedAnswer('SY_MALFORMED', `event data is not JSON: ${tap.malformed}`))
    }
  }

  end(): void {
    const x = this.x
    const tap = this.tap
    let terminator: Buffer | undefined
    if (tap !== undefined && !tap.complete) {
      // Several OpenAI-compatible servers close without `[DONE]` after a complete answer: every
      // choice finished (and the usage chunk, when asked for, arrived). The gateway ends it.
      if (tap.finishedWithoutMarker()) terminator = OPENAI_DONE
      // A clean close before that is a broken answer, not a success.
      else return x.refuse(new RefusedAnswer('SY_TRUNCATED', 'stream ended before its end marker'))
    }
    const flushed = tap?.flush()
    const held = this.opening?.take()
    let rest = held === undefined ? flushed : flushed === undefined ? held : Buffer.concat([held, flushed])
    if (terminator !== undefined) rest = rest === undefined ? terminator : Buffer.concat([rest, terminator])
    if (tap !== undefined) x.ctx.usage = tap.usage
    x.streamSucceeded()
    x.finish(rest)
  }

  stop(): void {
    this.opening?.take()
  }
}

/** Any other body: sent as it comes (batched per tick), unchecked. */
export class PassRaw implements ResponseStrategy {
  readonly streaming = false

  constructor(private readonly x: Exchange) {}

  start(status: number, headers: UpstreamHeaders): void {
    this.x.forwardHead(status, headers)
  }

  data(chunk: Buffer): void {
    this.x.write(chunk)
  }

  end(): void {
    this.x.finish()
  }
}

/** Choices a chat request asks for (`n`, default 1): a stream is complete when each one finished. */
function choicesOf(json: any): number {
  const n = json?.n
  return typeof n === 'number' && n >= 1 && n <= 128 ? Math.floor(n) : 1
}
