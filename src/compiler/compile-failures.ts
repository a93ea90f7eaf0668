/** `retry_on` / `fallback.on` lists → one predicate over UpstreamFailure, built once per rule. */
import type { FailureCondition, RetryPolicyIR } from './ir.js'
import type { CompiledRetry, UpstreamFailure } from '../runtime/types.js'

export function compileConditions(list: readonly FailureCondition[]): { test: (f: UpstreamFailure) => boolean; statuses: (s: number) => boolean } {
  const kinds = new Set<string>()
  const codes = new Set<number>()
  let any5xx = false
  let contextLength = false
  for (const c of list) {
    if (typeof c === 'number') codes.add(c)
    else if (c === '5xx') any5xx = true
    else if (c === '429') codes.add(429)
    else if (c === 'context_length') contextLength = true
    else kinds.add(c)
  }
  const statuses = (s: number) => codes.has(s) || (any5xx && s >= 500) || (contextLength && (s === 400 || s === 413))
  const test = (f: UpstreamFailure): boolean => {
    if (f.kind !== 'status') return kinds.has(f.kind)
    if (f.contextLength) return contextLength || codes.has(f.status!)
    return codes.has(f.status!) || (any5xx && f.status! >= 500)
  }
  return { test, statuses }
}

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
