/**
 * A worker's OpenTelemetry tracer: a BasicTracerProvider with our capped span queue and the OTLP/HTTP
 * (JSON) exporter, built from `telemetry.tracing` and kept across reloads that leave that section
 * unchanged; a changed section builds a new one and shuts the old down (flushing what it holds).
 *
 * Spans are exported from each worker thread, not shipped to the main thread: a span would otherwise be
 * cloned across threads and the main thread would serialize every worker's spans on its one core; a
 * worker's own batches cost it a timer and a request per batch. The collector sees one resource per
 * worker (`service.instance.id` = host:pid:thread).
 *
 * The SDK is loaded on first use (createRequire, synchronously: snapshots are built synchronously), so a
 * worker without tracing does not pay its ~7 MB of heap or its start-up time.
 */
import { createRequire } from 'node:module'
import { hostname } from 'node:os'
import { threadId } from 'node:worker_threads'
import type { Tracer } from '@opentelemetry/api'
import type { TracingIR } from '../../../compiler/ir.js'
import type { MetricJSON } from '../metric-store.js'
import { log } from '../../../shared/log.js'
import { SpanQueue, type SpanCounts } from './span-queue.js'

type SdkTrace = typeof import('@opentelemetry/sdk-trace-base')
type SdkResources = typeof import('@opentelemetry/resources')
type Exporter = typeof import('@opentelemetry/exporter-trace-otlp-http')
type SemConv = typeof import('@opentelemetry/semantic-conventions')

const require = createRequire(import.meta.url)

interface Live {
  readonly key: string
  readonly tracer: Tracer
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

  /** The tracer for this config: the running one when the section is unchanged. */
  tracerFor(cfg: TracingIR): Tracer {
    const key = JSON.stringify(cfg)
    if (this.live?.key === key) return this.live.tracer
    this.close()
    this.everUsed = true
    this.live = this.build(cfg, key)
    return this.live.tracer
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
    const trace = require('@opentelemetry/sdk-trace-base') as SdkTrace
    const { resourceFromAttributes } = require('@opentelemetry/resources') as SdkResources
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as Exporter
    const { ATTR_SERVICE_NAME } = require('@opentelemetry/semantic-conventions') as SemConv
    const resource = resourceFromAttributes({
      [ATTR_SERVICE_NAME]: cfg.serviceName,
      'service.instance.id': `${hostname()}:${process.pid}:${threadId}`,
      'process.pid': process.pid,
      'process.runtime.name': 'nodejs',
      'process.runtime.version': process.versions.node,
      ...cfg.resourceAttributes,
    })
    // Two exports at most in the exporter (ours plus one we gave up waiting for), so an unanswered
    // collector holds at most two batches besides the queue.
    const exporter = new OTLPTraceExporter({ url: cfg.endpoint, headers: { ...cfg.headers }, timeoutMillis: cfg.exportTimeoutMs, concurrencyLimit: 2 })
    const reporting = {
      export: (spans: Parameters<typeof exporter.export>[0], done: Parameters<typeof exporter.export>[1]) =>
        exporter.export(spans, (r) => {
          if (r.code !== 0) this.exportFailed(cfg, r.error)
          done(r)
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush(),
    }
    const queue = new SpanQueue(reporting, { maxBatchSize: cfg.maxBatchSize, intervalMs: cfg.batchIntervalMs, maxQueueSize: cfg.maxQueueSize, exportTimeoutMs: cfg.exportTimeoutMs }, this.counts)
    // The sampling decision is ours (request-tracing.ts), made before any span exists: every span we start is sampled.
    const provider = new trace.BasicTracerProvider({ resource, sampler: new trace.AlwaysOnSampler(), spanProcessors: [queue] })
    return { key, tracer: provider.getTracer('switchyard'), queue, shutdown: () => provider.shutdown() }
  }

  private exportFailed(cfg: TracingIR, error: Error | undefined): void {
    const now = Date.now()
    if (now - this.lastFailureLog < FAILURE_LOG_INTERVAL_MS) return
    this.lastFailureLog = now
    // The message only: an exporter error may quote the request, and its headers are secrets.
    const message = (error?.message ?? 'export failed').slice(0, 200)
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
