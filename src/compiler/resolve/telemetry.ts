/**
 * The `telemetry` section: which signals the workers record. Schema defaults are filled in by
 * validation (metrics enabled); this only turns them into the IR.
 */
import type { TelemetryIR } from '../ir.js'
import type { ResolveContext } from './context.js'
import type { MergedConfig } from './merge.js'

export function resolveTelemetry(config: MergedConfig, ctx: ResolveContext): TelemetryIR {
  const t = config.telemetry
  if (t) ctx.positions.record(['telemetry'], t)
  return { metrics: { enabled: t?.value.metrics?.enabled !== false } }
}
