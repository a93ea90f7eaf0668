import type { ClusterIR } from '../../compiler/ir.js'
import type { CompiledEndpoint, EndpointGuard, LoadBalancer, RequestHead, Stores } from '../types.js'
import { createRingHash } from './ring-hash.js'
import { createLeastLatency, type LatencyState } from './least-latency.js'
import { createLeastRequest } from './least-request.js'
import { createRandom } from './random.js'
import { createRoundRobin } from './round-robin.js'
import { createWeightedRoundRobin } from './weighted-round-robin.js'
import { createDynamicWeighted, DynamicWeights } from './dynamic-weights.js'

/** The cluster's LB; `latency` is the shared estimate store for `least_latency`. */
export function createClusterLoadBalancer(c: ClusterIR, endpoints: readonly CompiledEndpoint[], stores: Stores, latency: LatencyState | undefined, guard?: EndpointGuard): LoadBalancer {
  if (c.lb === 'least_latency') return createLeastLatency(endpoints, latency!)
  if (c.lb === 'ring_hash') {
    const header = c.ringHash.hashHeader
    const field = c.ringHash.hashBodyField
    const keyOf = header !== undefined ? (head: RequestHead) => head.headers[header]
      : field !== undefined ? (head: RequestHead) => bodyKey(head.json, field)
      : c.ringHash.hashTenant ? (head: RequestHead) => head.identity?.tenant
      : undefined
    // The ring itself skips ineligible owners clockwise, spreading their keys over the others.
    return createRingHash(endpoints, c.ringHash, { ...(keyOf && { keyOf }), ...(guard && { eligible: (e: CompiledEndpoint) => guard.eligible(e) }) })
  }
  if (c.lb === 'dynamic_weighted') {
    const d = c.dynamicWeights!
    // Keyed by config and endpoint set: a reload that keeps both keeps the smoothed loads.
    const key = `dynw|${c.name}|${JSON.stringify(d)}|${endpoints.map((e) => `${e.url}*${e.weight}`).join(',')}`
    const weights = stores.lbState(key, () => new DynamicWeights(endpoints.map(({ key, weight, stats }) => ({ key, weight, stats })), { intervalMs: d.intervalMs, smoothing: d.smoothing, minWeightFraction: d.minWeightFraction }))
    return createDynamicWeighted(endpoints, weights)
  }
  return createLoadBalancer(c.lb, c.name, endpoints, stores)
}

export function createLoadBalancer(policy: 'round_robin' | 'weighted' | 'random' | 'least_request', cluster: string, endpoints: readonly CompiledEndpoint[], stores: Stores): LoadBalancer {
  // State is keyed by cluster, policy and endpoint set: unchanged clusters keep their rotation.
  const key = `${cluster}|${policy}|${endpoints.map((e) => `${e.url}*${e.weight}`).join(',')}`
  switch (policy) {
    case 'round_robin': return createRoundRobin(endpoints, stores.lbState(key, () => ({ next: 0 })))
    case 'weighted': return createWeightedRoundRobin(endpoints, stores.lbState(key, () => ({ current: [] as number[] })))
    case 'random': return createRandom(endpoints)
    case 'least_request': return createLeastRequest(endpoints)
  }
}

/** The string or number at `path` in a JSON body, as a hash key. */
function bodyKey(json: unknown, path: readonly string[]): string | undefined {
  let v = json
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string, unknown>)[k]
  }
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined
}
