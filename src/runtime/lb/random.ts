import type { CompiledEndpoint, LoadBalancer } from '../types.js'

export function createRandom(endpoints: readonly CompiledEndpoint[]): LoadBalancer {
  const n = endpoints.length
  if (n === 1) return { pick: () => endpoints[0] }
  return { pick: () => endpoints[(Math.random() * n) | 0] }
}
