/**
 * The warning a deprecated model's requests log: once per model per worker every
 * DEPRECATION_WARNING_INTERVAL_MS, not per request (a busy deprecated model would otherwise flood
 * the log). The last-warned times are per worker thread and outlive snapshots (a reload does not
 * repeat the warning), keyed by model name.
 */
import { log } from '../../shared/log.js'

export const DEPRECATION_WARNING_INTERVAL_MS = 10 * 60_000

const lastWarned = new Map<string, number>()

/** `replacement`: the configured one; `rewrittenTo`: what the request is served as, when rewritten. */
export function warnDeprecated(model: string, deprecatedAt: string | undefined, replacement: string | undefined, rewrittenTo: string | undefined, now: number): void {
  const last = lastWarned.get(model)
  if (last !== undefined && now - last < DEPRECATION_WARNING_INTERVAL_MS) return
  lastWarned.set(model, now)
  log('warn', rewrittenTo ? 'deprecated model requested; served as its replacement' : 'deprecated model requested', {
    model,
    deprecated_at: deprecatedAt,
    ...(replacement && { replacement }),
    ...(rewrittenTo && { rewritten_to: rewrittenTo }),
    next_warning_in_s: DEPRECATION_WARNING_INTERVAL_MS / 1000,
  })
}

/** Tests: forget every warning given, so the next request warns again. */
export function resetDeprecationWarnings(): void {
  lastWarned.clear()
}
