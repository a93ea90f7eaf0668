/**
 * A CompiledCluster built by hand with only what endpoint choice and the attempt loop read (after
 * lb-endpoints.ts), plus a scripted load balancer and an endpoint guard whose verdicts the test sets.
 */
import assert from 'node:assert/strict'
import type { ClusterIR, ContinuationPrefill } from '../../src/compiler/ir.js'
import type { EndpointGuard } from '../../src/runtime/types.js'
import { ClusterStats } from '../../src/shared/shared-state.js'
import type { CompiledCluster, CompiledEndpoint, CompiledRetry, LoadBalancer } from '../../src/runtime/types.js'
import { endpoints as namedEndpoints } from './lb-endpoints.js'

/** A load balancer that proposes the endpoints named in `order`, round and round, and counts its picks. */
export function scriptedLb(endpoints: readonly CompiledEndpoint[], order: readonly string[] = endpoints.map((e) => e.name)): LoadBalancer & { picks: number } {
  const byName = new Map(endpoints.map((e) => [e.name, e]))
  const seq = order.map((n) => byName.get(n) ?? assert.fail(`no endpoint ${n}`))
  const lb = {
    picks: 0,
    pick: () => seq[lb.picks++ % seq.length],
  }
  return lb
}

export interface FakeGuard extends EndpointGuard {
  /** Names of the endpoints that are not eligible. */
  readonly ineligible: Set<string>
  /** Names passed to take(), in order. */
  readonly taken: string[]
}

/** An endpoint guard refusing exactly the endpoints in `ineligible` (by name; changeable later). */
export function fakeGuard(...ineligible: string[]): FakeGuard {
  const guard: FakeGuard = {
    ineligible: new Set(ineligible),
    taken: [],
    eligible: (e) => !guard.ineligible.has(e.name),
    take: (e) => (guard.taken.push(e.name), !guard.ineligible.has(e.name)),
    record: () => {},
    abandon: () => {},
    describe: () => ({}),
  }
  return guard
}

export interface FakeClusterOptions {
  readonly name?: string
  /** Endpoint names (a, b, c …); default one endpoint `a`. */
  readonly endpoints?: readonly string[]
  /** The order the LB proposes endpoints in (default: round robin in endpoint order). */
  readonly lbOrder?: readonly string[]
  readonly guard?: EndpointGuard
  readonly panicThreshold?: number
  readonly retry?: CompiledRetry
  readonly maxRetries?: number
  readonly retryBudget?: { readonly percent: number; readonly minRetryConcurrency: number }
  readonly timeoutMs?: number
  readonly continuationPrefill?: ContinuationPrefill
}

export function fakeCluster(opts: FakeClusterOptions = {}): CompiledCluster & { lb: ReturnType<typeof scriptedLb> } {
  const endpoints = namedEndpoints(...(opts.endpoints ?? ['a']))
  return {
    name: opts.name ?? 'c',
    panicThreshold: opts.panicThreshold ?? 0,
    limits: { maxRequests: 1024, maxPendingRequests: 1024, maxRetries: opts.maxRetries ?? 3, ...(opts.retryBudget && { retryBudget: opts.retryBudget }) } as ClusterIR['limits'],
    loadHeader: undefined,
    connectTimeoutMs: 1000,
    endpoints,
    lb: scriptedLb(endpoints, opts.lbOrder),
    provider: { forward: () => assert.fail('the fake cluster has no provider: pass a forward callback') },
    timeoutMs: opts.timeoutMs ?? 60_000,
    firstTokenTimeoutMs: 0,
    idleTimeoutMs: 0,
    modelMap: {},
    stats: ClusterStats.local(),
    retry: opts.retry,
    continuationPrefill: opts.continuationPrefill ?? 'none',
    poolConnections: 1,
    guard: opts.guard,
  }
}
