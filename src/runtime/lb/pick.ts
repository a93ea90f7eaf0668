/**
 * Endpoint choice with eligibility: the cluster's LB proposes, the guard disposes. When nothing
 * is eligible — or fewer than `panic_threshold` % of the endpoints are — the LB's choice stands
 * (Envoy's panic mode: better a degraded endpoint than none, and better spread than piled onto
 * the last healthy one). A fallback chain asks with pickEligible first, to fail over instead.
 *
 * hot path: clusters without a guard take the first branch; with one, a healthy first proposal
 * returns at once.
 */
import type { CompiledCluster, CompiledEndpoint, RequestHead } from '../types.js'

export function pickEndpoint(cluster: CompiledCluster, head: RequestHead, avoid?: CompiledEndpoint): CompiledEndpoint {
  if (cluster.guard === undefined) return pickAny(cluster, head, avoid)
  return pickGuarded(cluster, head, avoid, true)!
}

/** Like pickEndpoint, but undefined (instead of panic mode) when no endpoint is eligible. */
export function pickEligible(cluster: CompiledCluster, head: RequestHead, avoid?: CompiledEndpoint): CompiledEndpoint | undefined {
  if (cluster.guard === undefined) return pickAny(cluster, head, avoid)
  return pickGuarded(cluster, head, avoid, false)
}

function pickAny(cluster: CompiledCluster, head: RequestHead, avoid: CompiledEndpoint | undefined): CompiledEndpoint {
  const first = cluster.lb.pick(head)
  if (first !== avoid || cluster.endpoints.length === 1) return first
  for (let i = 0; i < 3; i++) {
    const e = cluster.lb.pick(head)
    if (e !== avoid) return e
  }
  return cluster.endpoints.find((x) => x !== avoid) ?? first
}

function pickGuarded(cluster: CompiledCluster, head: RequestHead, avoid: CompiledEndpoint | undefined, panic: boolean): CompiledEndpoint | undefined {
  const guard = cluster.guard!
  const endpoints = cluster.endpoints
  const n = endpoints.length
  const first = cluster.lb.pick(head)
  const ok = (e: CompiledEndpoint) => (e !== avoid || n === 1) && guard.take(e)
  if (ok(first)) return first
  // The first proposal was refused: is the cluster healthy enough to keep choosing?
  const threshold = cluster.panicThreshold
  if (threshold > 0) {
    let eligible = 0
    for (let i = 0; i < n; i++) if (guard.eligible(endpoints[i])) eligible++
    if (eligible === 0) return panic ? first : undefined
    if ((eligible * 100) / n < threshold) return first
  }
  // Let the LB propose a few more, then scan, so its policy still shapes the choice.
  for (let i = 0; i < n; i++) {
    const e = cluster.lb.pick(head)
    if (ok(e)) return e
  }
  for (const e of endpoints) if (ok(e)) return e
  return panic ? first : undefined
}
