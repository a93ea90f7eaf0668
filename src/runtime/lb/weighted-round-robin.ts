import type { CompiledEndpoint, LoadBalancer } from '../types.js'

/**
 * Smooth weighted round robin (nginx's algorithm): each pick adds every endpoint's weight to its
 * current score, takes the highest, and subtracts the total from the winner. Weights 5,1,1 give
 * a,a,b,a,c,a,a instead of bursts. Scores live in a store keyed by the endpoint set.
 */
export function createWeightedRoundRobin(endpoints: readonly CompiledEndpoint[], state: { current: number[] }): LoadBalancer {
  const live = endpoints.filter((e) => e.weight > 0)
  const weights = live.map((e) => e.weight)
  const total = weights.reduce((a, b) => a + b, 0)
  if (state.current.length !== live.length) state.current = new Array(live.length).fill(0)
  const current = state.current
  if (live.length === 1) return { pick: () => live[0] }
  return {
    pick() {
      let best = 0
      for (let i = 0; i < live.length; i++) {
        current[i] += weights[i]
        if (current[i] > current[best]) best = i
      }
      current[best] -= total
      return live[best]
    },
  }
}
