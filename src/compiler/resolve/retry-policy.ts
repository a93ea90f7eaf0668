/** A `retry_policy` block (a route's, or a cluster's default), defaults already applied by the schema. */
import type { RetryPolicyIR } from '../ir.js'
import { durationMs } from '../../shared/units.js'

export function resolveRetryPolicy(p: any): RetryPolicyIR {
  return {
    retryOn: p.retry_on,
    numRetries: p.num_retries,
    ...(p.per_try_timeout !== undefined && { perTryTimeoutMs: durationMs(p.per_try_timeout) }),
    baseIntervalMs: durationMs(p.base_interval),
    maxIntervalMs: durationMs(p.max_interval),
    retryAfterCapMs: durationMs(p.retry_after_cap),
  }
}
