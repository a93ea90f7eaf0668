/**
 * A batch of RequestTraces as one OTLP ExportTraceServiceRequest in protobuf
 * (opentelemetry-proto trace/v1 and common/v1), written byte by byte into one Buffer: no
 * intermediate objects, no JSON, config-only attributes (an endpoint's, a listener's) as byte
 * fragments made once per snapshot and copied. A request's spans are encoded when it completes
 * (encodeTrace, into a reused buffer, then copied into the export ring); the export thread puts a
 * batch's envelope in front of them (requestHead).
 *
 * Why protobuf and hand-written: the OTLP JSON of a traced chat request is ~2.5 KB and took ~10 µs
 * to build and encode as UTF-8; this is ~0.6 KB and ~1 µs (bench/telemetry-cost.ts). Every OTLP/HTTP
 * collector accepts `application/x-protobuf` (it is the protocol's default).
 *
 * Messages are length-prefixed, so a span's body is written after 3 reserved bytes and moved left
 * when its length needs fewer; the batch's envelope (resource, scope) is written last, in front of
 * the spans, into headroom left for it.
 */
import type { AnswerFacts, Usage } from '../../types.js'
import type { AttemptSpan, RequestTrace } from './span-record.js'
import type { CapturedContent } from './content-capture.js'

// Field tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
const T_SPAN = 0x12 // ScopeSpans.spans = 2
const T_TRACE_ID = 0x0a // Span.trace_id = 1
const T_SPAN_ID = 0x12 // Span.span_id = 2
const T_PARENT = 0x22 // Span.parent_span_id = 4
const T_NAME = 0x2a // Span.name = 5
const T_KIND = 0x30 // Span.kind = 6
const T_START = 0x39 // Span.start_time_unix_nano = 7
const T_END = 0x41 // Span.end_time_unix_nano = 8
const T_SPAN_ATTR = 0x4a // Span.attributes = 9
const T_EVENT = 0x5a // Span.events = 11
const T_STATUS = 0x7a // Span.status = 15
const T_EVENT_TIME = 0x09 // Event.time_unix_nano = 1
const T_EVENT_NAME = 0x12 // Event.name = 2
const T_EVENT_ATTR = 0x1a // Event.attributes = 3
const T_STATUS_MESSAGE = 0x12 // Status.message = 2
const T_STATUS_CODE = 0x18 // Status.code = 3
const T_RESOURCE_ATTR = 0x0a // Resource.attributes = 1
// KeyValue { key = 1; value = 2 }, AnyValue { string = 1; bool = 2; int = 3; double = 4; array = 5 }, ArrayValue { values = 1 }
const T_KV_KEY = 0x0a
const T_KV_VALUE = 0x12
const T_STRING = 0x0a
const T_BOOL = 0x10
const T_INT = 0x18
const T_DOUBLE = 0x21
const T_ARRAY = 0x2a
const T_ARRAY_VALUE = 0x0a

const KIND_SERVER = 2
const KIND_CLIENT = 3
const STATUS_ERROR = 2

/** Caller-controlled strings (path, model, tenant) are cut to this many characters in an attribute. */
const MAX_STRING = 1024

// ---------------------------------------------------------------- the writer (module state: one batch at a time, synchronously)

let buf = Buffer.allocUnsafe(0)
let pos = 0

function ensure(n: number): void {
  if (pos + n <= buf.length) return
  const next = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + n + 4096))
  buf.copy(next, 0, 0, pos)
  buf = next
}

function varintSize(n: number): number {
  if (n < 0x80) return 1
  if (n < 0x4000) return 2
  if (n < 0x200000) return 3
  if (n < 0x10000000) return 4
  let size = 4
  for (let v = Math.floor(n / 0x10000000); v > 0; v = Math.floor(v / 0x80)) size++
  return size
}

/** A non-negative integer below 2^53 (lengths, counts, token numbers). */
function varint(n: number): void {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80
    n = n < 0x80000000 ? n >>> 7 : Math.floor(n / 0x80)
  }
  buf[pos++] = n
}

/** UTF-8 length; most attribute values are ASCII, measured without a call. */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8')
  return s.length
}

function writeString(s: string, bytes: number): void {
  if (bytes === s.length && bytes < 96) {
    for (let i = 0; i < bytes; i++) buf[pos + i] = s.charCodeAt(i)
    pos += bytes
  } else pos += buf.write(s, pos, bytes, bytes === s.length ? 'latin1' : 'utf8')
}

function bytes(b: Uint8Array): void {
  if (b.length < 48) for (let i = 0; i < b.length; i++) buf[pos + i] = b[i]
  else buf.set(b, pos)
  pos += b.length
}

/** Hex digit → value (ids are lower-case hex: made here or validated by trace-context.ts). */
const HEX = new Uint8Array(128)
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c
for (let c = 0; c < 6; c++) HEX[0x61 + c] = 10 + c

function hexId(tag: number, hex: string): void {
  const n = hex.length >> 1
  buf[pos++] = tag
  buf[pos++] = n
  for (let i = 0; i < n; i++) buf[pos + i] = (HEX[hex.charCodeAt(2 * i)] << 4) | HEX[hex.charCodeAt(2 * i + 1)]
  pos += n
}

/**
 * performance.timeOrigin as epoch nanoseconds in two 32-bit halves, exact (computed once: past
 * 2^53 a double cannot hold it): whole·1e6 + frac = a·2^21 + b with a = ⌊whole / 2^21⌋·1e6 and
 * b = (whole mod 2^21)·1e6 + frac, both exact.
 */
const ORIGIN = ((): { hi: number; lo: number } => {
  const ms = performance.timeOrigin
  const whole = Math.floor(ms)
  const frac = Math.round((ms - whole) * 1e6)
  const a = Math.floor(whole / 0x200000) * 1e6
  const b = (whole % 0x200000) * 1e6 + frac
  let lo = (a % 0x800) * 0x200000 + b
  const carry = Math.floor(lo / 0x100000000)
  lo -= carry * 0x100000000
  return { hi: Math.floor(a / 0x800) + carry, lo }
})()
const ORIGIN_HI = ORIGIN.hi
const ORIGIN_LO = ORIGIN.lo

// hot path: five times per traced request
/**
 * A performance.now() reading as fixed64 Unix epoch nanoseconds: the origin's exact halves plus the
 * reading's nanoseconds (below 2^53 for 104 days of uptime, so the sum is exact too). Cheaper than
 * splitting timeOrigin + reading each time, and more precise: that sum, as a double, rounds to
 * ~0.24 µs.
 */
function nanos(tag: number, perf: number): void {
  let lo = ORIGIN_LO + Math.round(perf * 1e6)
  const carry = Math.floor(lo / 0x100000000)
  lo -= carry * 0x100000000
  const hi = ORIGIN_HI + carry
  buf[pos++] = tag
  buf[pos++] = lo & 0xff
  buf[pos++] = (lo >>> 8) & 0xff
  buf[pos++] = (lo >>> 16) & 0xff
  buf[pos++] = lo >>> 24
  buf[pos++] = hi & 0xff
  buf[pos++] = (hi >>> 8) & 0xff
  buf[pos++] = (hi >>> 16) & 0xff
  buf[pos++] = hi >>> 24
}

/** Starts a length-delimited field whose length is not known yet (3 bytes reserved: up to 2 MiB). */
function open(tag: number): number {
  buf[pos++] = tag
  const at = pos
  pos += 3
  return at
}

/** Writes the length of the field opened at `at`, moving its body left when the length is shorter. */
function close(at: number): void {
  const len = pos - at - 3
  const size = varintSize(len)
  if (size < 3) buf.copyWithin(at + size, at + 3, pos)
  const end = pos - (3 - size)
  pos = at
  varint(len)
  pos = end
}

// ---------------------------------------------------------------- attributes

/** A KeyValue's key field, prebuilt: [0x0a, length, ...key]. */
function keyField(key: string): Buffer {
  const k = Buffer.from(key)
  return Buffer.concat([Buffer.from([T_KV_KEY, k.length]), k])
}

function stringKv(tag: number, key: Buffer, value: string): void {
  wholeStringKv(tag, key, value.length > MAX_STRING ? value.slice(0, MAX_STRING) : value)
}

function wholeStringKv(tag: number, key: Buffer, s: string): void {
  const sl = utf8Length(s)
  const any = 1 + varintSize(sl) + sl
  const kv = key.length + 1 + varintSize(any) + any
  ensure(kv + 8)
  buf[pos++] = tag
  varint(kv)
  bytes(key)
  buf[pos++] = T_KV_VALUE
  varint(any)
  buf[pos++] = T_STRING
  varint(sl)
  writeString(s, sl)
}

function intKv(tag: number, key: Buffer, n: number): void {
  const v = n > 0 ? Math.floor(n) : 0
  const any = 1 + varintSize(v)
  const kv = key.length + 2 + any
  ensure(kv + 4)
  buf[pos++] = tag
  varint(kv)
  bytes(key)
  buf[pos++] = T_KV_VALUE
  buf[pos++] = any
  buf[pos++] = T_INT
  varint(v)
}

function doubleKv(tag: number, key: Buffer, x: number): void {
  const kv = key.length + 2 + 9
  ensure(kv + 4)
  buf[pos++] = tag
  varint(kv)
  bytes(key)
  buf[pos++] = T_KV_VALUE
  buf[pos++] = 9
  buf[pos++] = T_DOUBLE
  buf.writeDoubleLE(x, pos)
  pos += 8
}

function boolKv(tag: number, key: Buffer, b: boolean): void {
  ensure(key.length + 8)
  buf[pos++] = tag
  varint(key.length + 4)
  bytes(key)
  buf[pos++] = T_KV_VALUE
  buf[pos++] = 2
  buf[pos++] = T_BOOL
  buf[pos++] = b ? 1 : 0
}

/** A string-array attribute (finish reasons); holes are skipped. */
function stringArrayKv(tag: number, key: Buffer, values: readonly (string | undefined)[]): void {
  ensure(key.length + 16)
  const kv = open(tag)
  bytes(key)
  const any = open(T_KV_VALUE)
  const arr = open(T_ARRAY)
  for (const v of values) {
    if (v === undefined) continue
    const s = v.length > MAX_STRING ? v.slice(0, MAX_STRING) : v
    const sl = utf8Length(s)
    ensure(sl + 12)
    buf[pos++] = T_ARRAY_VALUE
    varint(1 + varintSize(sl) + sl)
    buf[pos++] = T_STRING
    varint(sl)
    writeString(s, sl)
  }
  close(arr)
  close(any)
  close(kv)
}

/**
 * Span attributes that depend on config only, as one byte fragment to copy into every span that has
 * them (an endpoint's provider, address and names; a listener's port and name).
 */
export function attributeFragment(entries: readonly (readonly [string, string | number])[]): Buffer {
  return fragmentOf(() => {
    for (const [k, v] of entries) typeof v === 'string' ? stringKv(T_SPAN_ATTR, keyField(k), v) : intKv(T_SPAN_ATTR, keyField(k), v)
  })
}

/** Runs `write` into a scratch buffer and returns what it wrote (a fragment to copy later). */
function fragmentOf(write: () => void): Buffer {
  const saved = buf
  const savedPos = pos
  buf = Buffer.allocUnsafe(256)
  pos = 0
  write()
  const out = Buffer.from(buf.subarray(0, pos))
  buf = saved
  pos = savedPos
  return out
}

function copy(f: Buffer): void {
  ensure(f.length)
  bytes(f)
}

/** Values longer than this are encoded each time, never kept. */
const MAX_CACHED_VALUE = 64
/** Distinct values kept per attribute; past it, new values are encoded each time. */
const MAX_CACHED_VALUES = 256

/**
 * A string attribute whose values repeat (path, route, models, outcomes): each value's whole
 * KeyValue field is encoded once and copied after that, which is most of what a span costs to
 * write. Bounded, so caller-chosen values (a path, a model name) cannot grow it.
 */
class StringAttribute {
  private readonly known = new Map<string, Buffer>()
  readonly key: Buffer

  constructor(key: string) {
    this.key = keyField(key)
  }

  write(value: string): void {
    let f = this.known.get(value)
    if (f === undefined) {
      if (value.length > MAX_CACHED_VALUE || this.known.size >= MAX_CACHED_VALUES) return stringKv(T_SPAN_ATTR, this.key, value)
      this.known.set(value, (f = fragmentOf(() => stringKv(T_SPAN_ATTR, this.key, value))))
    }
    copy(f)
  }

  /** A one-string array value (a single finish reason), cached the same way; longer arrays are encoded. */
  writeArray(values: readonly (string | undefined)[]): void {
    if (values.length !== 1 || values[0] === undefined) return stringArrayKv(T_SPAN_ATTR, this.key, values)
    const v = values[0]
    let f = this.known.get(v)
    if (f === undefined) {
      if (v.length > MAX_CACHED_VALUE || this.known.size >= MAX_CACHED_VALUES) return stringArrayKv(T_SPAN_ATTR, this.key, values)
      this.known.set(v, (f = fragmentOf(() => stringArrayKv(T_SPAN_ATTR, this.key, values))))
    }
    copy(f)
  }
}

/** An integer attribute with small common values (status codes, attempt numbers), cached below `limit`. */
class IntAttribute {
  private readonly known: (Buffer | undefined)[] = []
  readonly key: Buffer

  constructor(key: string, private readonly limit: number) {
    this.key = keyField(key)
  }

  write(n: number): void {
    if (!(n >= 0 && n < this.limit && Number.isInteger(n))) return intKv(T_SPAN_ATTR, this.key, n)
    copy((this.known[n] ??= fragmentOf(() => intKv(T_SPAN_ATTR, this.key, n))))
  }
}

// ---------------------------------------------------------------- spans

const K = {
  method: new StringAttribute('http.request.method'),
  path: new StringAttribute('url.path'),
  requestId: keyField('switchyard.request_id'),
  route: new StringAttribute('switchyard.route'),
  tenant: new StringAttribute('switchyard.tenant'),
  requestModel: new StringAttribute('gen_ai.request.model'),
  attempts: new IntAttribute('switchyard.attempts', 16),
  status: new IntAttribute('http.response.status_code', 600),
  errorType: new StringAttribute('error.type'),
  operation: new StringAttribute('gen_ai.operation.name'),
  attempt: new IntAttribute('switchyard.attempt', 16),
  reason: new StringAttribute('switchyard.attempt.reason'),
  outcome: new StringAttribute('switchyard.attempt.outcome'),
  next: new StringAttribute('switchyard.attempt.next'),
  inputTokens: keyField('gen_ai.usage.input_tokens'),
  outputTokens: keyField('gen_ai.usage.output_tokens'),
  cachedTokens: keyField('gen_ai.usage.cache_read.input_tokens'),
  reasoningTokens: keyField('gen_ai.usage.reasoning.output_tokens'),
  responseModel: new StringAttribute('gen_ai.response.model'),
  finishReasons: new StringAttribute('gen_ai.response.finish_reasons'),
  ttft: keyField('gen_ai.server.time_to_first_token'),
  systemInstructions: keyField('gen_ai.system_instructions'),
  inputMessages: keyField('gen_ai.input.messages'),
  outputMessages: keyField('gen_ai.output.messages'),
}
const FIRST_TOKEN = Buffer.from('gen_ai.first_token')

function usage(u: Usage | undefined): void {
  if (u === undefined) return
  intKv(T_SPAN_ATTR, K.inputTokens, u.inputTokens)
  intKv(T_SPAN_ATTR, K.outputTokens, u.outputTokens)
  if (u.cachedInputTokens) intKv(T_SPAN_ATTR, K.cachedTokens, u.cachedInputTokens)
  if (u.reasoningTokens) intKv(T_SPAN_ATTR, K.reasoningTokens, u.reasoningTokens)
}

/** A string attribute already bounded by its producer (captured content: max_content_bytes), written whole. */
function longStringKv(key: Buffer, value: string): void {
  wholeStringKv(T_SPAN_ATTR, key, value)
}

function content(c: CapturedContent | undefined): void {
  if (c === undefined) return
  if (c.systemInstructions !== undefined) longStringKv(K.systemInstructions, c.systemInstructions)
  if (c.inputMessages !== undefined) longStringKv(K.inputMessages, c.inputMessages)
  if (c.outputMessages !== undefined) longStringKv(K.outputMessages, c.outputMessages)
}

function answer(a: AnswerFacts | undefined): void {
  if (a === undefined) return
  if (a.model !== undefined) K.responseModel.write(a.model)
  if (a.finishReasons !== undefined) K.finishReasons.writeArray(a.finishReasons)
}

function name(s: string): void {
  const v = s.length > MAX_STRING ? s.slice(0, MAX_STRING) : s
  const sl = utf8Length(v)
  ensure(sl + 6)
  buf[pos++] = T_NAME
  varint(sl)
  writeString(v, sl)
}

/**
 * Span names `{first} {second}` (`POST chat`, `chat gpt-4o`) or `{first}` alone, each name's field
 * encoded once and copied after that: no string is built per span (joining the two was a string to
 * allocate and flatten per span). Bounded like StringAttribute: past it, names are encoded each time.
 */
class SpanName {
  /** By first part, then second part; names of one part alone are kept apart (a second part may be ''). */
  private readonly known = new Map<string, Map<string, Buffer>>()
  private readonly alone = new Map<string, Buffer>()
  private size = 0

  write(first: string, second: string | undefined): void {
    const byFirst = second === undefined ? undefined : this.known.get(first)
    const f = second === undefined ? this.alone.get(first) : byFirst?.get(second)
    if (f !== undefined) return copy(f)
    const whole = second === undefined ? first : `${first} ${second}`
    if (whole.length > MAX_CACHED_VALUE || this.size >= MAX_CACHED_VALUES) return name(whole)
    const made = fragmentOf(() => name(whole))
    if (second === undefined) this.alone.set(first, made)
    else if (byFirst === undefined) this.known.set(first, new Map([[second, made]]))
    else byFirst.set(second, made)
    this.size++
    copy(made)
  }
}

/** Status { message?, code }: written only for ERROR (UNSET is the default, so absent). */
function errorStatus(message: string | undefined): void {
  const ml = message === undefined ? 0 : utf8Length(message)
  const len = 2 + (message === undefined ? 0 : 1 + varintSize(ml) + ml)
  ensure(len + 4)
  buf[pos++] = T_STATUS
  varint(len)
  if (message !== undefined) {
    buf[pos++] = T_STATUS_MESSAGE
    varint(ml)
    writeString(message, ml)
  }
  buf[pos++] = T_STATUS_CODE
  buf[pos++] = STATUS_ERROR
}

const SERVER_NAME = new SpanName()
const CLIENT_NAME = new SpanName()

function serverSpan(t: RequestTrace): void {
  ensure(128 + t.listenerFixed.length)
  const span = open(T_SPAN)
  hexId(T_TRACE_ID, t.traceId)
  hexId(T_SPAN_ID, t.spanId)
  if (t.parentSpanId !== '') hexId(T_PARENT, t.parentSpanId)
  SERVER_NAME.write(t.method, t.route)
  buf[pos++] = T_KIND
  buf[pos++] = KIND_SERVER
  nanos(T_START, t.startedAt)
  nanos(T_END, t.endedAt)
  K.method.write(t.method)
  K.path.write(t.path)
  copy(t.listenerFixed)
  stringKv(T_SPAN_ATTR, K.requestId, t.requestId)
  if (t.route !== undefined) K.route.write(t.route)
  if (t.tenant !== undefined) K.tenant.write(t.tenant)
  if (t.requestModel !== undefined) K.requestModel.write(t.requestModel)
  // Who answered, the usage and the answer's model and finish reasons are the last client span's:
  // not repeated here (they were ~40 % of a chat request's bytes).
  K.attempts.write(t.attempts)
  if (t.status > 0) K.status.write(t.status)
  if (t.errorType !== '') K.errorType.write(t.errorType)
  if (t.error) errorStatus(undefined)
  close(span)
}

function attemptSpan(t: RequestTrace, a: AttemptSpan): void {
  ensure(128 + a.fixed.length)
  const span = open(T_SPAN)
  hexId(T_TRACE_ID, t.traceId)
  hexId(T_SPAN_ID, a.spanId)
  hexId(T_PARENT, t.spanId)
  CLIENT_NAME.write(t.operation, a.model)
  buf[pos++] = T_KIND
  buf[pos++] = KIND_CLIENT
  nanos(T_START, a.startedAt)
  nanos(T_END, a.endedAt)
  K.operation.write(t.operation)
  copy(a.fixed)
  K.attempt.write(a.attempt)
  if (a.model !== undefined) K.requestModel.write(a.model)
  if (a.reason !== undefined) K.reason.write(a.reason)
  usage(a.usage)
  answer(a.answer)
  content(a.content)
  if (a.status > 0) K.status.write(a.status)
  if (a.outcome !== '') K.outcome.write(a.outcome)
  if (a.nextStep !== '') K.next.write(a.nextStep)
  if (a.errorType !== '') K.errorType.write(a.errorType)
  if (a.firstChunkAt > 0) {
    ensure(64)
    const ev = open(T_EVENT)
    nanos(T_EVENT_TIME, a.firstChunkAt)
    buf[pos++] = T_EVENT_NAME
    varint(FIRST_TOKEN.length)
    bytes(FIRST_TOKEN)
    doubleKv(T_EVENT_ATTR, K.ttft, (a.firstChunkAt - t.startedAt) / 1000)
    close(ev)
  }
  if (a.errorType !== '') errorStatus(a.errorType)
  close(span)
}

// ---------------------------------------------------------------- the request

/** The batch envelope's fixed parts: the Resource (this worker) and the InstrumentationScope, as fields. */
export interface Envelope {
  readonly resource: Buffer
  readonly scope: Buffer
}

export function envelope(resource: Readonly<Record<string, string | number | boolean>>, scopeName = 'switchyard'): Envelope {
  const saved = buf
  const savedPos = pos
  buf = Buffer.allocUnsafe(1024)
  pos = 0
  const res = open(0x0a) // ResourceSpans.resource = 1
  for (const [k, v] of Object.entries(resource)) {
    if (typeof v === 'string') stringKv(T_RESOURCE_ATTR, keyField(k), v)
    else if (typeof v === 'boolean') boolKv(T_RESOURCE_ATTR, keyField(k), v)
    else if (Number.isInteger(v) && v >= 0) intKv(T_RESOURCE_ATTR, keyField(k), v)
    else doubleKv(T_RESOURCE_ATTR, keyField(k), v)
  }
  close(res)
  const resource_ = Buffer.from(buf.subarray(0, pos))
  pos = 0
  const scope = open(0x0a) // ScopeSpans.scope = 1
  buf[pos++] = 0x0a // InstrumentationScope.name = 1
  varint(Buffer.byteLength(scopeName))
  pos += buf.write(scopeName, pos)
  close(scope)
  const scope_ = Buffer.from(buf.subarray(0, pos))
  buf = saved
  pos = savedPos
  return { resource: resource_, scope: scope_ }
}

/** The one buffer every trace of this thread is encoded into (grown when a trace outgrows it, never shrunk). */
let scratch = Buffer.allocUnsafe(16 * 1024)

/**
 * The spans of one finished request, encoded now (when the request completes) into this thread's
 * reused scratch buffer: the result is a view valid until the next call, which the caller copies at
 * once (into the export ring: span-ring.ts). Nothing is allocated per trace, and nothing the garbage
 * collector must trace waits for the batch.
 */
export function encodeTrace(t: RequestTrace): Buffer {
  buf = scratch
  pos = 0
  serverSpan(t)
  for (let a = t.first; a !== undefined; a = a.next) attemptSpan(t, a)
  // A trace that outgrew the scratch buffer was written into a larger one: keep that one.
  scratch = buf
  const out = buf.subarray(0, pos)
  buf = EMPTY
  pos = 0
  return out
}

const EMPTY = Buffer.alloc(0)

/**
 * The front of one ExportTraceServiceRequest whose spans (encoded traces, back to back) take
 * `spansLen` bytes: the envelope (resource, scope) and the lengths that enclose them. The spans
 * follow it unchanged.
 */
export function requestHead(env: Envelope, spansLen: number): Buffer {
  // ExportTraceServiceRequest { resource_spans = 1: ResourceSpans { resource = 1, scope_spans = 2: ScopeSpans { scope = 1, spans = 2 } } }
  const ss = env.scope.length + spansLen
  const rs = env.resource.length + 1 + varintSize(ss) + ss
  const out = Buffer.allocUnsafe(1 + varintSize(rs) + env.resource.length + 1 + varintSize(ss) + env.scope.length)
  const savedBuf = buf
  const savedPos = pos
  buf = out
  pos = 0
  buf[pos++] = 0x0a
  varint(rs)
  bytes(env.resource)
  buf[pos++] = 0x12
  varint(ss)
  bytes(env.scope)
  buf = savedBuf
  pos = savedPos
  return out
}

/** One ExportTraceServiceRequest: the envelope (resource, scope) around encoded traces' spans. */
export function encodeRequest(env: Envelope, parts: readonly Uint8Array[]): Buffer {
  let spansLen = 0
  for (let i = 0; i < parts.length; i++) spansLen += parts[i].length
  return Buffer.concat([requestHead(env, spansLen), ...parts])
}

/** encodeTrace() for each, then encodeRequest(): one request holding every span of `traces` (tests, tools). */
export function encodeTraces(env: Envelope, traces: readonly RequestTrace[]): Buffer {
  return encodeRequest(env, traces.map((t) => Buffer.from(encodeTrace(t))))
}
