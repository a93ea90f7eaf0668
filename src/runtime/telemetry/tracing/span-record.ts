/**
 * A sampled request's spans as plain records: one RequestTrace (the SERVER span) holding its
 * AttemptSpans (the CLIENT spans) in a list, every attribute a typed field. They are written while
 * the request runs and read once, when their batch is serialized (otlp-proto.ts); the objects the
 * request already has (its usage, its AnswerFacts, its route and endpoint) are referenced, not copied.
 *
 * Why not the SDK's Span: each one carries an attribute map, event and link arrays, a resource and
 * scope reference and hrtime conversions, and the OTLP exporter turns a batch into a second tree of
 * objects before JSON.stringify; measured, that was ~24 µs of worker CPU per traced request (two
 * spans), most of it allocation and GC. A record is two small objects and a few strings.
 *
 * Times are performance.now() readings (one clock for every span of the worker); the serializer turns
 * them into epoch nanoseconds.
 */
import { randomFillSync } from 'node:crypto'
import type { AnswerFacts, Usage } from '../../types.js'
import type { CapturedContent } from './content-capture.js'

/** What followed a failed attempt, as exported (`none` for the last one). */
export type AttemptNextName = 'retry' | 'fallback' | 'continue' | 'none'

export class AttemptSpan {
  next: AttemptSpan | undefined = undefined
  endedAt = 0
  /** performance.now() of the first upstream body chunk (0: none). */
  firstChunkAt = 0
  /** The model sent upstream (after rewrites); the span is named `{operation} {model}`. */
  model: string | undefined = undefined
  usage: Usage | undefined = undefined
  answer: AnswerFacts | undefined = undefined
  /** The upstream's status (0: none). */
  status = 0
  /** `success`, a status class or a failure kind. */
  outcome = ''
  /** `error.type` when it failed ('' when not). */
  errorType = ''
  nextStep: AttemptNextName | '' = ''
  /** Message content (rules with `tracing.capture_content`, on the last attempt only), redacted and bounded. */
  content: CapturedContent | undefined = undefined
  constructor(
    readonly spanId: string,
    readonly startedAt: number,
    /** The endpoint's attributes as an OTLP byte fragment, made once per endpoint and snapshot. */
    readonly fixed: Buffer,
    readonly attempt: number,
    /** Why the previous attempt failed, when this one is a retry or fallback. */
    readonly reason: string | undefined,
  ) {}
}

export class RequestTrace {
  readonly sampled = true
  first: AttemptSpan | undefined = undefined
  last: AttemptSpan | undefined = undefined
  /** The attempt still running. */
  current: AttemptSpan | undefined = undefined
  attempts = 0
  endedAt = 0
  route: string | undefined = undefined
  tenant: string | undefined = undefined
  requestModel: string | undefined = undefined
  status = 0
  /** `error.type` of the request ('' when none); `error` marks the span status ERROR. */
  errorType = ''
  error = false
  /** Spans in this trace (1 + attempts), fixed when it is queued. */
  spans = 1
  constructor(
    readonly traceId: string,
    readonly spanId: string,
    /** The caller's span ('' for a root span). */
    readonly parentSpanId: string,
    readonly startedAt: number,
    readonly method: string,
    readonly path: string,
    /** `server.port` and `switchyard.listener` as an OTLP byte fragment, made once per listener and snapshot. */
    readonly listenerFixed: Buffer,
    readonly requestId: string,
    /** The GenAI operation of the request's path (`chat`, `embeddings`, `other`). */
    readonly operation: string,
  ) {}

  addAttempt(a: AttemptSpan): void {
    if (this.last === undefined) this.first = a
    else this.last.next = a
    this.last = a
    this.current = a
    this.attempts++
  }
}

/**
 * Random trace and span ids, hex, cut from a pool of random bytes turned into hex in one go (a
 * substring of it costs no copy), refilled when used up. `crypto` rather than Math.random: ids must
 * not collide across workers and hosts.
 */
const POOL_BYTES = 8192
let pool = ''
let at = 0

function refill(): void {
  pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES)).toString('hex')
  at = 0
}

/** `hexChars` random hex digits (32 for a trace id, 16 for a span id), never all zero. */
export function randomHex(hexChars: number): string {
  if (at + hexChars > pool.length) refill()
  const id = pool.slice(at, at + hexChars)
  at += hexChars
  return isZero(id) ? randomHex(hexChars) : id
}

function isZero(id: string): boolean {
  for (let i = 0; i < id.length; i++) if (id.charCodeAt(i) !== 0x30) return false
  return true
}
