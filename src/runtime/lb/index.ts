import type { LbPolicy } from '../../compiler/ir.js'
import type { CompiledEndpoint, LoadBalancer, Stores } from '../types.js'
import { createLeastRequest } from './least-request.js'
import { createRandom } from './random.js'
import { createRoundRobin } from './round-robin.js'
import { createWeightedRoundRobin } from './weighted-round-robin.js'

export function createLoadBalancer(policy: LbPolicy, cluster: string, endpoints: readonly CompiledEndpoint[], stores: Stores): LoadBalancer {
  // State is keyed by cluster, policy and endpoint set: unchanged clusters keep their rotation.
  const key = `${cluster}|${policy}|${endpoints.map((e) => `${e.url}*${e.weight}`).join(',')}`
  switch (policy) {
    case 'round_robin': return createRoundRobin(endpoints, stores.lbState(key, () => ({ next: 0 })))
    case 'weighted': return createWeightedRoundRobin(endpoints, stores.lbState(key, () => ({ current: [] as number[] })))
    case 'random': return createRandom(endpoints)
    case 'least_request': return createLeastRequest(endpoints)
  }
}
