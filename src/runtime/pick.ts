/**
 * Endpoint choice with eligibility: the cluster's LB proposes, the guard disposes. When nothing
 * is eligible, the LB's choice stands (Envoy's panic mode: better a degraded endpoint than none).
 *
 * hot path: clusters without a guard take the first branch.
 */
import type { CompiledCluster, CompiledEndpoint, RequestHead } from './types.js'

export function pickEndpoint(cluster: CompiledCluster, head: RequestHead, avoid?: CompiledEndpoint): CompiledEndpoint {
  const guard = cluster.guard
  const first = cluster.lb.pick(head)
  const n = cluster.endpoints.length
  if (guard === undefined) {
    if (first !== avoid || n === 1) return first
    for (let i = 0; i < 3; i++) {
      const e = cluster.lb.pick(head)
      if (e !== avoid) return e
    }
    return cluster.endpoints.find((x) => x !== avoid) ?? first
  }
  const ok = (e: CompiledEndpoint) => (e !== avoid || n === 1) && guard.take(e)
  if (ok(first)) return first
  // Let the LB propose a few more, then scan, so its policy still shapes the choice.
  for (let i = 0; i < n; i++) {
    const e = cluster.lb.pick(head)
    if (ok(e)) return e
  }
  for (const e of cluster.endpoints) if (ok(e)) return e
  return first
}
