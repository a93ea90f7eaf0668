import type { CompiledEndpoint, LoadBalancer } from '../types.js'

/** Plain rotation; the cursor lives in a store so a reload does not restart at endpoint 0. */
export function createRoundRobin(endpoints: readonly CompiledEndpoint[], state: { next: number }): LoadBalancer {
  const n = endpoints.length
  if (n === 1) return { pick: () => endpoints[0] }
  return {
    pick() {
      const i = state.next++ % n
      if (state.next >= 0x3fffffff) state.next = 0
      return endpoints[i]
    },
  }
}
