/**
 * The `telemetry` section: which signals the workers record. Schema defaults are filled in by
 * validation (metrics enabled, the tracing defaults); this turns them into the IR, resolving the
 * tracing endpoint and headers (which may be references, and are secrets the runtime scrubs).
 */
import type { TelemetryIR, TracingIR } from '../ir.js'
import { durationMs } from '../../shared/units.js'
import type { ResolveContext } from './context.js'
import { below, type Located } from './positions.js'
import type { MergedConfig } from './merge.js'

export function resolveTelemetry(config: MergedConfig, ctx: ResolveContext): TelemetryIR {
  const t = config.telemetry
  if (t) ctx.positions.record(['telemetry'], t)
  const tracing = t?.value.tracing === undefined ? undefined : resolveTracing(t.value.tracing, below(t, 'tracing'), ctx)
  return { metrics: { enabled: t?.value.metrics?.enabled !== false }, ...(tracing !== undefined && { tracing }) }
}

function resolveTracing(v: any, at: Located, ctx: ResolveContext): TracingIR {
  const endpoint = ctx.secrets.secret(v.endpoint, below(at, 'endpoint'))
  const headers: Record<string, string> = ctx.secrets.deep(v.headers ?? {}, below(at, 'headers'))
  // Literal header values are credentials as often as referenced ones: the runtime scrubs both.
  ctx.secrets.declare(Object.values(headers).filter((h) => h.length >= 8))
  if (endpoint !== '' && ctx.mode === 'resolve' && !/^https?:\/\/[^/]/.test(endpoint)) {
    ctx.report('SY_CFG_BAD_URL', below(at, 'endpoint'), 'telemetry.tracing.endpoint must be an http:// or https:// URL (e.g. http://127.0.0.1:4318/v1/traces)')
  }
  const sampler = v.sampler ?? {}
  const batch = v.batch ?? {}
  return {
    endpoint,
    headers,
    sampleRatio: sampler.ratio ?? 1,
    parentBased: sampler.parent_based !== false,
    serviceName: v.service_name ?? 'switchyard',
    resourceAttributes: { ...(v.resource_attributes ?? {}) },
    maxBatchSize: batch.max_size ?? 512,
    batchIntervalMs: durationMs(batch.interval ?? '5s'),
    maxQueueSize: batch.max_queue ?? 2048,
    exportTimeoutMs: durationMs(v.timeout ?? '10s'),
  }
}
