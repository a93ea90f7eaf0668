/**
 * The `log` section: level and format for every thread. Schema defaults are filled in by
 * validation (info, pretty); this only turns them into the IR.
 */
import type { LogIR } from '../ir.js'
import type { ResolveContext } from './context.js'
import type { MergedConfig } from './merge.js'

export function resolveLog(config: MergedConfig, ctx: ResolveContext): LogIR {
  const l = config.log
  if (l) ctx.positions.record(['log'], l)
  return { level: l?.value.level ?? 'info', format: l?.value.format ?? 'pretty' }
}
