/** A rule's `retry_policy` → its compiled form (conditions via the runtime's compileConditions). */
import type { RetryPolicyIR } from './ir.js'
import type { CompiledRetry } from '../runtime/types.js'
import { compileConditions } from '../runtime/resilience/retry.js'

export { compileConditions }

export function compileRetry(r: RetryPolicyIR | undefined): CompiledRetry | undefined {
  if (!r) return undefined
  const { test, statuses } = compileConditions(r.retryOn)
  return {
    retryOn: test,
    statuses,
    numRetries: r.numRetries,
    perTryTimeoutMs: r.perTryTimeoutMs,
    baseIntervalMs: r.baseIntervalMs,
    maxIntervalMs: r.maxIntervalMs,
    retryAfterCapMs: r.retryAfterCapMs,
  }
}
