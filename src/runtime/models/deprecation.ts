/**
 * The warning a deprecated model's requests log: once per model per worker every
 * DEPRECATION_WARNING_INTERVAL_MS, not per request (a busy deprecated model would otherwise flood
 * the log). The last-warned times are per worker thread and outlive snapshots (a reload does not
 * repeat the warning), keyed by model name.
 */
import { log } from '../../shared/log.js'
import type { CompiledModel } from './registry.js'

export const DEPRECATION_WARNING_INTERVAL_MS = 10 * 60_000

const lastWarned = new Map<string, number>()

export function warnDeprecated(m: CompiledModel, rewrittenTo: CompiledModel | undefined, now: number): void {
  const last = lastWarned.get(m.name)
  if (last !== undefined && now - last < DEPRECATION_WARNING_INTERVAL_MS) return
  lastWarned.set(m.name, now)
  log('warn', rewrittenTo ? 'deprecated model requested; served as its replacement' : 'deprecated model requested', {
    model: m.name,
    deprecated_at: m.deprecatedAt,
    ...(m.replacement && { replacement: m.replacement.name }),
    ...(rewrittenTo && { rewritten_to: rewrittenTo.name }),
    next_warning_in_s: DEPRECATION_WARNING_INTERVAL_MS / 1000,
  })
}

/** Tests: forget every warning given, so the next request warns again. */
export function resetDeprecationWarnings(): void {
  lastWarned.clear()
}
