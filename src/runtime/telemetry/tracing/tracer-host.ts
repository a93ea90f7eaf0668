/**
 * A worker's tracer: the export queue and the OTLP/HTTP (protobuf) sender built from `telemetry.tracing`,
 * kept across reloads that leave that section unchanged; a changed section builds a new one and shuts
 * the old down (flushing what it holds).
 *
 * Spans are exported from each worker thread, not shipped to the main thread: a span would otherwise be
 * cloned across threads and the main thread would serialize every worker's spans on its one core; a
 * worker's own batches cost it a timer and a request per batch. The collector sees one resource per
 * worker (`service.instance.id` = host:pid:thread).
 *
 * No OpenTelemetry SDK: spans are records (span-record.ts) serialized in batches as OTLP protobuf (otlp-proto.ts), which
 * cut the cost of a traced request from ~24 µs to ~2 µs of worker CPU (docs/observability.md).
 */
import { hostname } from 'node:os'
import { threadId } from 'node:worker_threads'
import type { TracingIR } from '../../../compiler/ir.js'
import type { MetricJSON } from '../metric-store.js'
import { log } from '../../../shared/log.js'
import { encodeRequest, envelope } from './otlp-proto.js'
import { OtlpHttpSender } from './otlp-http.js'
import { SpanQueue, type SpanCounts } from './span-queue.js'

interface Live {
  readonly key: string
  readonly queue: SpanQueue
  readonly shutdown: () => Promise<void>
}

/** Export failures are logged at most this often (a collector outage would otherwise log every batch). */
const FAILURE_LOG_INTERVAL_MS = 60_000

export class TracerHost {
  private live: Live | undefined
  readonly counts: SpanCounts = { exported: 0, dropped: 0, failed: 0 }
  private lastFailureLog = 0
  /** Whether a tracer was ever built (its counters are reported from then on). */
  everUsed = false

  /** The export queue for this config: the running one when the section is unchanged. */
  tracerFor(cfg: TracingIR): SpanQueue {
    const key = JSON.stringify(cfg)
    if (this.live?.key === key) return this.live.queue
    this.close()
    this.everUsed = true
    this.live = this.build(cfg, key)
    return this.live.queue
  }

  /** Tracing was removed from the config: flush and stop (requests still on older snapshots end unexported). */
  close(): void {
    const old = this.live
    this.live = undefined
    if (old !== undefined) void old.shutdown().catch(() => {})
  }

  /** Flushes the queue now (tests, shutdown). */
  async flush(): Promise<void> {
    await this.live?.queue.forceFlush()
  }

  private build(cfg: TracingIR, key: string): Live {
    const env = envelope({
      'service.name': cfg.serviceName,
      'service.instance.id': `${hostname()}:${process.pid}:${threadId}`,
      'process.pid': process.pid,
      'process.runtime.name': 'nodejs',
      'process.runtime.version': process.versions.node,
      ...cfg.resourceAttributes,
    })
    const sender = new OtlpHttpSender(cfg.endpoint, cfg.headers, cfg.exportTimeoutMs)
    const queue = new SpanQueue((traces, done) => {
      sender.send(encodeRequest(env, traces), (ok, error) => {
        if (!ok) this.exportFailed(cfg, error)
        done(ok)
      })
    }, { maxBatchSize: cfg.maxBatchSize, intervalMs: cfg.batchIntervalMs, maxQueueSize: cfg.maxQueueSize, exportTimeoutMs: cfg.exportTimeoutMs }, this.counts)
    return { key, queue, shutdown: () => queue.shutdown().finally(() => sender.close()) }
  }

  private exportFailed(cfg: TracingIR, error: string | undefined): void {
    const now = Date.now()
    if (now - this.lastFailureLog < FAILURE_LOG_INTERVAL_MS) return
    this.lastFailureLog = now
    // The message only: an exporter error may quote the request, and its headers are secrets.
    const message = (error ?? 'export failed').slice(0, 200)
    log('warn', 'trace export failed; spans are dropped while the collector does not answer', { endpoint: redactUrl(cfg.endpoint), error: message, exported: this.counts.exported, failed: this.counts.failed, dropped: this.counts.dropped })
  }

  /** The span counters, for the worker's metrics report. */
  families(): MetricJSON[] {
    const counter = (name: string, help: string, value: number): MetricJSON => ({ name, help, type: 'counter', values: [{ labels: {}, value }], aggregator: 'sum' })
    return [
      counter('switchyard_trace_spans_exported_total', 'Spans the collector accepted.', this.counts.exported),
      counter('switchyard_trace_spans_dropped_total', 'Spans dropped because the export queue was full (collector down or slow).', this.counts.dropped),
      counter('switchyard_trace_spans_failed_total', 'Spans in export batches that failed, were refused or timed out.', this.counts.failed),
      { name: 'switchyard_trace_queue_spans', help: 'Finished spans waiting to be exported.', type: 'gauge', values: [{ labels: {}, value: this.live?.queue.length ?? 0 }], aggregator: 'sum' },
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
