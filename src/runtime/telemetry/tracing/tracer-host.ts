/**
 * A worker's tracer: the export ring and its export thread (span-exporter.ts) built from
 * `telemetry.tracing`, kept across reloads that leave that section unchanged; a changed section
 * builds a new one and shuts the old down (flushing what it holds).
 *
 * Where spans are exported from: each worker encodes its own spans (when a request completes) and
 * hands the bytes to an export thread of its own through a SharedArrayBuffer ring; that thread
 * batches, POSTs and waits for the collector. Spans are never cloned across threads as objects, the
 * request-serving thread never touches an export socket, and the main thread is not involved. The
 * collector sees one resource per worker (`service.instance.id` = host:pid:thread).
 *
 * No OpenTelemetry SDK: spans are records (span-record.ts) encoded as OTLP protobuf (otlp-proto.ts),
 * which cut the cost of a traced request from ~24 µs to a few µs of worker CPU (docs/observability.md).
 */
import { hostname } from 'node:os'
import { threadId } from 'node:worker_threads'
import type { TracingIR } from '../../../compiler/ir.js'
import type { MetricJSON } from '../metric-store.js'
import { log } from '../../../shared/log.js'
import { envelope } from './otlp-proto.js'
import { SpanExporter, type SpanCounts } from './span-exporter.js'

interface Live {
  readonly key: string
  readonly exporter: SpanExporter
}

/** Export failures are logged at most this often (a collector outage would otherwise log every batch; the export thread reports at most once a minute too). */
const FAILURE_LOG_INTERVAL_MS = 60_000

export class TracerHost {
  private live: Live | undefined
  /** Exported and failed spans (BigInt64 cells the export threads add to): they outlive a replaced tracer. */
  private readonly counters = new SharedArrayBuffer(16)
  private readonly dropped = { spans: 0 }
  private lastFailureLog = 0
  /** Whether a tracer was ever built (its counters are reported from then on). */
  everUsed = false

  /** Totals since the worker started. */
  get counts(): SpanCounts {
    return { ...SpanExporter.counts(this.counters), dropped: this.dropped.spans }
  }

  /**
   * The exporter for this config: the running one when the section is unchanged and the ring it
   * holds is the one `contentBytes` (the largest `max_content_bytes` of a capturing rule, 0: none)
   * sizes; else a new one (the old one flushed).
   */
  tracerFor(cfg: TracingIR, contentBytes = 0): SpanExporter {
    const key = `${contentBytes}:${JSON.stringify(cfg)}`
    if (this.live?.key === key) return this.live.exporter
    this.close()
    this.everUsed = true
    this.live = { key, exporter: this.build(cfg, contentBytes) }
    return this.live.exporter
  }

  /** Tracing was removed from the config: flush and stop (requests still on older snapshots end unexported). */
  close(): void {
    const old = this.live
    this.live = undefined
    if (old !== undefined) void old.exporter.shutdown().catch(() => {})
  }

  /** Flushes the queue now (tests, shutdown). */
  async flush(): Promise<void> {
    await this.live?.exporter.forceFlush()
  }

  private build(cfg: TracingIR, contentBytes: number): SpanExporter {
    const env = envelope({
      'service.name': cfg.serviceName,
      'service.instance.id': `${hostname()}:${process.pid}:${threadId}`,
      'process.pid': process.pid,
      'process.runtime.name': 'nodejs',
      'process.runtime.version': process.versions.node,
      ...cfg.resourceAttributes,
    })
    const opts = { endpoint: cfg.endpoint, headers: cfg.headers, envelope: env, maxBatchSize: cfg.maxBatchSize, intervalMs: cfg.batchIntervalMs, maxQueueSize: cfg.maxQueueSize, exportTimeoutMs: cfg.exportTimeoutMs, contentBytes }
    return new SpanExporter(opts, this.counters, this.dropped, (error) => this.exportFailed(cfg, error))
  }

  private exportFailed(cfg: TracingIR, error: string): void {
    const now = Date.now()
    if (now - this.lastFailureLog < FAILURE_LOG_INTERVAL_MS) return
    this.lastFailureLog = now
    // The message only (from this thread's scrubbed logger): an exporter error may quote the request, and its headers are secrets.
    const c = this.counts
    log('warn', 'trace export failed; spans are dropped while the collector does not answer', { endpoint: redactUrl(cfg.endpoint), error: error.slice(0, 200), exported: c.exported, failed: c.failed, dropped: c.dropped })
  }

  /** The span counters, for the worker's metrics report. */
  families(): MetricJSON[] {
    const counter = (name: string, help: string, value: number): MetricJSON => ({ name, help, type: 'counter', values: [{ labels: {}, value }], aggregator: 'sum' })
    const c = this.counts
    return [
      counter('switchyard_trace_spans_exported_total', 'Spans the collector accepted.', c.exported),
      counter('switchyard_trace_spans_dropped_total', 'Spans dropped because the export queue was full (collector down or slow).', c.dropped),
      counter('switchyard_trace_spans_failed_total', 'Spans in export batches that failed, were refused or timed out.', c.failed),
      { name: 'switchyard_trace_queue_spans', help: 'Finished spans waiting to be exported.', type: 'gauge', values: [{ labels: {}, value: this.live?.exporter.length ?? 0 }], aggregator: 'sum' },
    ]
  }
}

/** The endpoint without userinfo or query (either may hold a credential). */
function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return '(invalid url)'
  }
}
