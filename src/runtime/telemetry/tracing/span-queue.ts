/**
 * The span processor of a worker's tracer: finished spans wait in a capped queue and leave in
 * batches, one export in flight at a time, from a timer (never from the request that ended them).
 * This is what makes a collector outage cheap: when exports are slow or failing the queue fills
 * to `maxQueueSize` and further spans are dropped and counted, so memory is bounded by the queue
 * plus the batch in flight, and no request ever waits for the collector.
 *
 * The SDK's BatchSpanProcessor does nearly this, but its drop count is private and reset on the
 * next accepted span; operators need the totals (switchyard_trace_spans_*_total).
 */
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'

export interface SpanQueueOptions {
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

/** ExportResultCode.SUCCESS in @opentelemetry/core (not a dependency of ours). */
const SUCCESS = 0

export class SpanQueue implements SpanProcessor {
  private queue: ReadableSpan[] = []
  private timer: NodeJS.Timeout | undefined
  private exporting = false
  private closed = false
  private readonly opts: SpanQueueOptions

  constructor(private readonly exporter: SpanExporter, opts: SpanQueueOptions, readonly counts: SpanCounts) {
    this.opts = { ...opts, maxBatchSize: Math.min(opts.maxBatchSize, opts.maxQueueSize) }
  }

  /** Spans waiting to be exported (a gauge). */
  get length(): number {
    return this.queue.length
  }

  onStart(): void {}

  // hot path: once per sampled span
  onEnd(span: ReadableSpan): void {
    if (this.closed || (span.spanContext().traceFlags & 1) === 0) return
    if (this.queue.length >= this.opts.maxQueueSize) {
      this.counts.dropped++
      return
    }
    this.queue.push(span)
    if (this.exporting) return
    if (this.queue.length >= this.opts.maxBatchSize) this.schedule(0)
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

  /** Sends one batch; resolves when it is answered, failed or timed out. */
  private exportBatch(): Promise<void> {
    if (this.exporting || this.queue.length === 0) return Promise.resolve()
    const batch = this.queue.length <= this.opts.maxBatchSize ? this.queue : this.queue.slice(0, this.opts.maxBatchSize)
    this.queue = batch === this.queue ? [] : this.queue.slice(batch.length)
    this.exporting = true
    return new Promise<void>((resolve) => {
      let settled = false
      const settle = (ok: boolean) => {
        if (settled) return
        settled = true
        clearTimeout(guard)
        this.exporting = false
        if (ok) this.counts.exported += batch.length
        else this.counts.failed += batch.length
        if (!this.closed && this.queue.length > 0) this.schedule(this.queue.length >= this.opts.maxBatchSize ? 0 : this.opts.intervalMs)
        resolve()
      }
      const guard = setTimeout(() => settle(false), this.opts.exportTimeoutMs + 1000)
      guard.unref()
      try {
        this.exporter.export(batch, (r) => settle(r.code === SUCCESS))
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
    this.counts.dropped += this.queue.length
    this.queue = []
    await this.exporter.shutdown().catch(() => {})
  }
}
