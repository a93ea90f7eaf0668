/** A rule's or cluster's `retry_policy` → its compiled form (conditions via resilience/retry's compileConditions). */
import type { RetryPolicyIR } from '../../compiler/ir.js'
import type { CompiledRetry } from '../types.js'
import { compileConditions } from '../resilience/retry.js'

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
