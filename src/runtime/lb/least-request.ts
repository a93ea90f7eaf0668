import type { CompiledEndpoint, LoadBalancer } from '../types.js'

/**
 * Power of two choices: sample two distinct endpoints, take the one with fewer requests in flight.
 * Near-optimal spread without scanning every endpoint or herding onto one after a stats update.
 */
export function createLeastRequest(endpoints: readonly CompiledEndpoint[]): LoadBalancer {
  const n = endpoints.length
  if (n === 1) return { pick: () => endpoints[0] }
  return {
    pick() {
      const i = (Math.random() * n) | 0
      let j = (Math.random() * (n - 1)) | 0
      if (j >= i) j++
      const a = endpoints[i]
      const b = endpoints[j]
      return b.stats.inflight < a.stats.inflight ? b : a
    },
  }
}
