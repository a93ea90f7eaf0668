/**
 * The hand-off of encoded traces from a worker to its export thread: a bounded ring of bytes in a
 * SharedArrayBuffer, one producer (the worker, once per sampled request) and one consumer (the
 * export thread, once per batch). A push is a copy of the trace's bytes and two atomic adds; nothing
 * is posted per request, nothing waits, and a full ring refuses (the caller drops and counts).
 *
 * Layout: 16 Int32 header cells, then `capacity` bytes of records. A record is
 * `[u32 length][u32 spans][length bytes][padding to 8]`; a record that does not fit before the end
 * of the data region is written at its start, after a skip marker. `USED` counts every byte not yet
 * released (records, padding, skipped tails), so the two sides never need each other's offsets:
 * the producer writes only into the `capacity - USED` free bytes after its own offset, the consumer
 * reads only the `USED` bytes after its own. Plain byte writes happen before the `Atomics.add` that
 * publishes them, and the consumer reads them after the `Atomics.load` that sees them, which the
 * JavaScript memory model orders.
 *
 * @example
 * const sab = SpanRing.allocate(1 << 20)
 * const producer = new SpanRing(sab)            // the worker
 * producer.push(encodedTrace, 2)
 * const consumer = new SpanRing(sab)            // the export thread
 * const batch = consumer.take(512, (len) => head(len))
 */

/** Bytes in use (records, padding, skipped tails): the producer adds, the consumer subtracts. */
const USED = 0
/** Spans in the ring (the queue gauge; checked against `max_queue`). */
const SPANS = 1
/** Waited on by the consumer between looks; bumped to wake it at once (a flush or close asked). */
export const SIGNAL = 2
const HEADER_BYTES = 64

/** The tracer host's shared counter cells (a BigInt64Array of 2), added to by export threads. */
export const COUNTER_EXPORTED = 0
export const COUNTER_FAILED = 1
const RECORD_HEAD = 8
const SKIP = 0xffffffff

/** A batch taken from the ring: its spans' bytes behind `head`, in one buffer. */
export interface TakenBatch {
  readonly body: Buffer
  readonly spans: number
  /** The batch stopped at its byte limit with records left behind it: the rest should go at once. */
  readonly cut: boolean
}

export class SpanRing {
  readonly header: Int32Array
  private readonly data: Buffer
  private readonly capacity: number
  /** This side's offset in the data region (the producer's write offset, or the consumer's read offset). */
  private at = 0

  /** Half the data region: a push that fills the ring past it wakes the consumer (see push). */
  private readonly half: number

  /** A ring with room for `capacity` bytes of records (rounded up to a multiple of 8). */
  static allocate(capacity: number): SharedArrayBuffer {
    return new SharedArrayBuffer(HEADER_BYTES + ((Math.max(capacity, 64) + 7) & ~7))
  }

  constructor(sab: SharedArrayBuffer) {
    this.header = new Int32Array(sab, 0, HEADER_BYTES >> 2)
    this.capacity = sab.byteLength - HEADER_BYTES
    this.data = Buffer.from(sab, HEADER_BYTES, this.capacity)
    this.half = this.capacity >> 1
  }

  /** Whether at least half the ring is in use (records, padding, skipped tails): the consumer sends then, whatever its interval. */
  get halfFull(): boolean {
    return Atomics.load(this.header, USED) >= this.half
  }

  /** Spans waiting in the ring. */
  get spans(): number {
    return Atomics.load(this.header, SPANS)
  }

  // hot path: once per sampled request (the worker)
  /**
   * Copies one encoded trace of `spans` spans in; false when it does not fit (nothing written). The
   * consumer polls; it is woken only by the push that takes the ring past half full (one
   * Atomics.notify per crossing), so a burst of large traces is sent before the ring fills up
   * instead of waiting for the next look or interval.
   */
  push(bytes: Uint8Array, spans: number): boolean {
    const c = this.capacity
    const need = RECORD_HEAD + ((bytes.length + 7) & ~7)
    let at = this.at
    const waste = c - at < need ? c - at : 0
    if (Atomics.load(this.header, USED) + waste + need > c) return false
    const d = this.data
    if (waste > 0) {
      d.writeUInt32LE(SKIP, at)
      at = 0
    }
    d.writeUInt32LE(bytes.length, at)
    d.writeUInt32LE(spans, at + 4)
    d.set(bytes, at + RECORD_HEAD)
    at += need
    this.at = at === c ? 0 : at
    const before = Atomics.add(this.header, USED, waste + need)
    Atomics.add(this.header, SPANS, spans)
    if (before < this.half && before + waste + need >= this.half) this.wake()
    return true
  }

  /** Wakes a consumer waiting on SIGNAL. */
  wake(): void {
    Atomics.add(this.header, SIGNAL, 1)
    Atomics.notify(this.header, SIGNAL)
  }

  /**
   * Takes records from the front holding at most `maxSpans` spans and `maxBytes` bytes of records
   * (at least one record when any is there, however large) into one buffer that starts with
   * `head(bytes of the records)`, and releases their room. Undefined when the ring is empty. The
   * consumer's side.
   */
  take(maxSpans: number, head: (spansBytes: number) => Buffer, maxBytes = Infinity): TakenBatch | undefined {
    const c = this.capacity
    const d = this.data
    const avail = Atomics.load(this.header, USED)
    let pos = this.at
    let consumed = 0
    let spans = 0
    let bytes = 0
    const starts: number[] = []
    const lengths: number[] = []
    let cut = false
    while (consumed < avail) {
      const len = d.readUInt32LE(pos)
      if (len === SKIP) {
        consumed += c - pos
        pos = 0
        continue
      }
      const n = d.readUInt32LE(pos + 4)
      if (starts.length > 0 && spans + n > maxSpans) break
      if (starts.length > 0 && bytes + len > maxBytes) {
        cut = true
        break
      }
      starts.push(pos + RECORD_HEAD)
      lengths.push(len)
      spans += n
      bytes += len
      const size = RECORD_HEAD + ((len + 7) & ~7)
      consumed += size
      pos += size
      if (pos === c) pos = 0
    }
    if (starts.length === 0) return undefined
    const h = head(bytes)
    const body = Buffer.allocUnsafe(h.length + bytes)
    h.copy(body, 0)
    let o = h.length
    for (let i = 0; i < starts.length; i++) {
      d.copy(body, o, starts[i], starts[i] + lengths[i])
      o += lengths[i]
    }
    this.at = pos
    Atomics.sub(this.header, USED, consumed)
    Atomics.sub(this.header, SPANS, spans)
    return { body, spans, cut }
  }
}
