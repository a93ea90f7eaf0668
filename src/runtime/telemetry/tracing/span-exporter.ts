/**
 * The worker's side of its tracer's export: finished request traces, already encoded
 * (otlp-proto.ts encodeTrace), are copied into a bounded SharedArrayBuffer ring (span-ring.ts) that
 * an export thread of this worker drains in batches (export-thread.ts). The request-serving thread
 * never builds an export request, touches a socket or waits for the collector.
 *
 * Bounded memory whatever the collector does: a trace is queued only while the ring holds fewer than
 * `maxQueueSize` spans and has room for its bytes; otherwise it is dropped and counted. Memory is
 * the ring (fixed at start) plus the one batch the export thread has in flight. Counted in spans,
 * as operators think of them (switchyard_trace_spans_*_total); a trace is queued or dropped whole.
 */
import { Worker } from 'node:worker_threads'
import type { Envelope } from './otlp-proto.js'
import { COUNTER_EXPORTED, COUNTER_FAILED, SpanRing } from './span-ring.js'
import type { ExportThreadData, FromExportThread } from './export-thread.js'

export interface SpanExporterOptions {
  readonly endpoint: string
  readonly headers: Readonly<Record<string, string>>
  /** Spans per export request (a batch closes before the first trace that would pass it). */
  readonly maxBatchSize: number
  readonly intervalMs: number
  readonly maxQueueSize: number
  /** An export not answered by then counts as failed; the next batch may go. */
  readonly exportTimeoutMs: number
  readonly envelope: Envelope
  /** The largest `max_content_bytes` of the snapshot's capturing rules; 0 when none captures (sizes the ring). */
  readonly contentBytes: number
}

/** Totals since the worker started (they outlive an exporter replaced by a reload). */
export interface SpanCounts {
  readonly exported: number
  /** Dropped because the queue was full. */
  readonly dropped: number
  /** In batches the collector refused, or that failed or timed out. */
  readonly failed: number
}

/** Ring bytes per span of `max_queue`: an encoded chat span is ~200–350 B; long caller strings take more (then the ring's bytes bound first). */
export const RING_BYTES_PER_SPAN = 768
export const MAX_RING_BYTES = 256 * 1024 * 1024
/** A content attribute's key (`gen_ai.system_instructions`, the longest, is 26 B), tags and lengths. */
const ATTRIBUTE_OVERHEAD = 48

/**
 * The ring's size for `maxQueue` spans when the largest `max_content_bytes` of a capturing rule is
 * `contentBytes` (0: no rule captures). Content goes on one attempt span of a trace of at least two
 * spans (server + attempt), three attributes of at most `contentBytes` each (plus key, tags and
 * lengths): so `1.5 × contentBytes` more per span of the queue lets `max_queue`, not the
 * ring's bytes, bound a capturing config. At most MAX_RING_BYTES.
 */
export function ringBytes(maxQueue: number, contentBytes: number): number {
  const perSpan = RING_BYTES_PER_SPAN + (contentBytes > 0 ? Math.ceil((3 * (contentBytes + ATTRIBUTE_OVERHEAD)) / 2) : 0)
  return Math.min(maxQueue * perSpan, MAX_RING_BYTES)
}

export class SpanExporter {
  private readonly ring: SpanRing
  private readonly thread: Worker
  private closed = false
  private exited: Promise<void>
  private nextFlush = 0
  private readonly flushes = new Map<number, () => void>()

  constructor(
    private readonly opts: SpanExporterOptions,
    /** The host's shared [exported, failed] cells (BigInt64), added to by every export thread it starts. */
    counters: SharedArrayBuffer,
    private readonly dropped: { spans: number },
    onFailure: (error: string) => void,
  ) {
    const sab = SpanRing.allocate(ringBytes(opts.maxQueueSize, opts.contentBytes))
    this.ring = new SpanRing(sab)
    const data: ExportThreadData = {
      ring: sab, counts: counters, endpoint: opts.endpoint, headers: opts.headers, exportTimeoutMs: opts.exportTimeoutMs,
      maxBatchSize: Math.min(opts.maxBatchSize, opts.maxQueueSize), intervalMs: opts.intervalMs, envelope: opts.envelope,
    }
    this.thread = new Worker(new URL('./export-thread.js', import.meta.url), { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: 4 } })
    this.thread.on('message', (m: FromExportThread) => {
      if (m.type === 'flushed') {
        this.flushes.get(m.id)?.()
        this.flushes.delete(m.id)
      } else onFailure(m.error)
    })
    this.exited = new Promise((resolve) => this.thread.once('exit', () => resolve()))
    this.thread.on('error', (e) => onFailure(`export thread failed: ${e.message}`))
    // The export thread never keeps its worker alive: draining flushes it explicitly (flush()).
    // After the listeners: adding a 'message' listener refs the worker's port again.
    this.thread.unref()
  }

  /** Spans waiting to be exported (a gauge). */
  get length(): number {
    return this.ring.spans
  }

  // hot path: once per sampled request
  /** Whether a trace of `n` spans would be queued (else it is dropped and counted: do not encode it). */
  accepts(n: number): boolean {
    if (!this.closed && this.ring.spans + n <= this.opts.maxQueueSize) return true
    this.dropped.spans += n
    return false
  }

  // hot path: once per sampled request
  /** Queues an encoded trace of `n` spans that accepts(n) let in (copied: `trace` may be reused at once). */
  add(trace: Uint8Array, n: number): void {
    if (!this.ring.push(trace, n)) this.dropped.spans += n
  }

  /** Counts `n` spans that could not be queued (encoding failed) as dropped. */
  discard(n: number): void {
    this.dropped.spans += n
  }

  /** Resolves once every span queued before the call was exported or failed (or after `timeout` + 1 s). */
  forceFlush(): Promise<void> {
    if (this.closed) return Promise.resolve()
    const id = this.nextFlush++
    return new Promise<void>((resolve) => {
      const guard = setTimeout(() => {
        this.flushes.delete(id)
        resolve()
      }, this.opts.exportTimeoutMs + 1000)
      guard.unref()
      this.flushes.set(id, () => {
        clearTimeout(guard)
        resolve()
      })
      this.thread.postMessage({ type: 'flush', id })
    })
  }

  /** Flushes, stops the export thread; what could not be sent by then is counted as dropped. */
  async shutdown(): Promise<void> {
    if (this.closed) return this.exited
    this.closed = true
    this.thread.postMessage({ type: 'close' })
    const guard = setTimeout(() => void this.thread.terminate(), this.opts.exportTimeoutMs + 1000)
    guard.unref()
    await this.exited
    clearTimeout(guard)
    this.dropped.spans += this.ring.spans
  }

  /** Exported and failed totals of the shared cells. */
  static counts(counters: SharedArrayBuffer): { exported: number; failed: number } {
    const c = new BigInt64Array(counters)
    return { exported: Number(Atomics.load(c, COUNTER_EXPORTED)), failed: Number(Atomics.load(c, COUNTER_FAILED)) }
  }
}
