/** Minimal CompiledEndpoints for load-balancer tests: named a, b, c … with optional weights. */
import { EndpointStats } from '../../src/shared/shared-state.js'
import type { CompiledEndpoint } from '../../src/runtime/types.js'

export function endpoints(...specs: (string | [string, number])[]): CompiledEndpoint[] {
  return specs.map((s) => {
    const [name, weight] = typeof s === 'string' ? [s, 1] : s
    return {
      url: `mock://${name}`,
      name,
      key: `test|mock://${name}`,
      weight,
      origin: `mock://${name}`,
      basePath: '',
      pool: undefined,
      baseHeaders: [],
      hasCredentials: false,
      stats: EndpointStats.local(),
    }
  })
}

/** Puts `n` more requests in flight on the endpoint. */
export function load(e: CompiledEndpoint, n: number): void {
  for (let i = 0; i < n; i++) e.stats.start()
}

/** Finishes `n` in-flight requests on the endpoint. */
export function unload(e: CompiledEndpoint, n: number): void {
  for (let i = 0; i < n; i++) e.stats.finish()
}

/** The endpoint names of `n` consecutive picks. */
export function picks(lb: { pick(head: never): CompiledEndpoint }, n: number): string[] {
  return Array.from({ length: n }, () => lb.pick(undefined as never).url.slice('mock://'.length))
}

export function counts(names: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const n of names) out[n] = (out[n] ?? 0) + 1
  return out
}
