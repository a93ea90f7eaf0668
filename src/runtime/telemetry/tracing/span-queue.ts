/**
 * The export queue of a worker's tracer: finished request traces (a server span and its attempt
 * spans, already encoded: otlp-proto.ts encodeTrace) wait in a capped queue and leave in batches, one export in flight at a time, from a timer
 * (never from the request that ended them). This is what makes a collector outage cheap: when
 * exports are slow or failing the queue fills to `maxQueueSize` spans and further traces are
 * dropped and counted, so memory is bounded by the queue plus the batch in flight, and no request
 * ever waits for the collector.
 *
 * Counted in spans, as operators think of them (switchyard_trace_spans_*_total); a trace is queued
 * or dropped whole, so the queue never holds a server span without its attempts.
 */

export interface SpanQueueOptions {
  /** Spans per export request (a batch closes at the first trace that reaches it). */
  readonly maxBatchSize: number
  readonly intervalMs: number
  readonly maxQueueSize: number
  /** An export not answered by then counts as failed; the next batch may go. */
  readonly exportTimeoutMs: number
}

/** Totals since the worker started (they outlive a tracer replaced by a reload). */
export interface SpanCounts {
  exported: number
  /** Dropped because the queue was full. */
  dropped: number
  /** In batches the collector refused, or that failed or timed out. */
  failed: number
}

/** Sends one batch (encoded traces); calls `done` once with whether the collector accepted it. */
export type ExportBatch = (traces: readonly Buffer[], done: (ok: boolean) => void) => void

export class SpanQueue {
  private queue: Buffer[] = []
  /** Spans of each trace in `queue`. */
  private sizes: number[] = []
  /** Spans in `queue`. */
  private spans = 0
  private timer: NodeJS.Timeout | undefined
  private exporting = false
  private closed = false
  private readonly opts: SpanQueueOptions

  constructor(private readonly exporter: ExportBatch, opts: SpanQueueOptions, readonly counts: SpanCounts) {
    this.opts = { ...opts, maxBatchSize: Math.min(opts.maxBatchSize, opts.maxQueueSize) }
  }

  /** Spans waiting to be exported (a gauge). */
  get length(): number {
    return this.spans
  }

  // hot path: once per sampled request
  /** Whether a trace of `n` spans would be queued (else it is dropped: do not encode it). */
  accepts(n: number): boolean {
    if (!this.closed && this.spans + n <= this.opts.maxQueueSize) return true
    this.counts.dropped += n
    return false
  }

  /** Queues an encoded trace of `n` spans that accepts(n) let in. */
  add(trace: Buffer, n: number): void {
    this.queue.push(trace)
    this.sizes.push(n)
    this.spans += n
    if (this.exporting) return
    if (this.spans >= this.opts.maxBatchSize) this.schedule(0)
    else if (this.timer === undefined) this.schedule(this.opts.intervalMs)
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.exportBatch()
    }, ms)
    this.timer.unref()
  }

  /** Takes traces from the front until the batch holds maxBatchSize spans (at least one trace). */
  private take(): { batch: Buffer[]; spans: number } {
    const q = this.queue
    const sizes = this.sizes
    let spans = 0
    let i = 0
    while (i < q.length && (i === 0 || spans + sizes[i] <= this.opts.maxBatchSize)) spans += sizes[i++]
    const batch = i === q.length ? q : q.slice(0, i)
    this.queue = i === q.length ? [] : q.slice(i)
    this.sizes = i === sizes.length ? [] : sizes.slice(i)
    this.spans -= spans
    return { batch, spans }
  }

  /** Sends one batch; resolves when it is answered, failed or timed out. */
  private exportBatch(): Promise<void> {
    if (this.exporting || this.queue.length === 0) return Promise.resolve()
    const { batch, spans } = this.take()
    this.exporting = true
    return new Promise<void>((resolve) => {
      let settled = false
      const settle = (ok: boolean) => {
        if (settled) return
        settled = true
        clearTimeout(guard)
        this.exporting = false
        if (ok) this.counts.exported += spans
        else this.counts.failed += spans
        if (!this.closed && this.queue.length > 0) this.schedule(this.spans >= this.opts.maxBatchSize ? 0 : this.opts.intervalMs)
        resolve()
      }
      // The sender has its own deadline; this one only guards against a callback that never comes.
      const guard = setTimeout(() => settle(false), this.opts.exportTimeoutMs + 1000)
      guard.unref()
      try {
        this.exporter(batch, settle)
      } catch {
        settle(false)
      }
    })
  }

  /** Exports everything queued now (tests, shutdown); bounded by the export timeout per batch. */
  async forceFlush(): Promise<void> {
    while (this.queue.length > 0 || this.exporting) {
      if (this.exporting) await new Promise((r) => setTimeout(r, 5))
      else await this.exportBatch()
    }
  }

  async shutdown(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    await this.forceFlush().catch(() => {})
    this.closed = true
    this.counts.dropped += this.spans
    this.queue = []
    this.sizes = []
    this.spans = 0
  }
}
