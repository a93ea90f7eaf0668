/**
 * SnapshotIR (plain data) → Snapshot (matchers, filter instances, LBs, pools). Deterministic and
 * side-effect free apart from acquiring pools from the stores, so every worker thread builds the
 * same thing from the same IR. If building fails, acquired pools are released again.
 */
import type { SnapshotIR } from '../../compiler/ir.js'
import type { CompiledChain, CompiledCluster, CompiledListener, Filter, FilterDeps, Snapshot, Stores } from '../types.js'
import type { SnapshotTelemetry } from '../telemetry/request-metrics.js'
import { compileCluster } from './clusters.js'
import { compileRouteTable } from '../routing/routes.js'
import { chainForRule, createFilters, preRouteFilters, type PrebuiltFilters } from './filters.js'
import { compileIdentity } from '../identity/tables.js'
import { compilePriceTable } from '../limits/budget.js'
import { createScrubber } from '../upstream/scrub.js'
import { withCorsPreflight } from '../filters/cors.js'
import { ACCESS_LOG_EVERYWHERE, createAccessLog } from '../http/access-log.js'
import { buildModelListing } from '../models/listing.js'
import { compileModelRegistry } from '../models/registry.js'

/**
 * `prebuilt`: filter instances already made (the dry build), so no factory runs twice.
 * `telemetry`: the worker's metric hooks for this snapshot (telemetry/request-metrics.ts), installed
 * on every chain and route; undefined when metrics are off or outside a worker.
 */
export function buildSnapshot(ir: SnapshotIR, stores: Stores, prebuilt?: PrebuiltFilters, telemetry?: SnapshotTelemetry): Snapshot {
  const poolKeys: string[] = []
  try {
    const identity = compileIdentity(ir.tenants, ir.keys)
    const deps = filterDeps(ir, stores, identity)
    const clusters = new Map<string, CompiledCluster>()
    const clusterIR = new Map(ir.clusters.map((c) => [c.name, c]))
    for (const c of ir.clusters) clusters.set(c.name, compileCluster(c, stores, poolKeys))
    const instances = prebuilt?.configured ?? createFilters(ir.filters, deps)
    const filterIR = new Map(ir.filters.map((f) => [f.name, f]))
    const tables = new Map(ir.routeTables.map((t) => [t.name, t]))
    // Rules with their own connect_timeout get a variant of each cluster they reach: same name,
    // counters, breakers and balancer state (all keyed in the stores), other pools.
    const variants = new Map<string, CompiledCluster>()
    const clusterFor = (name: string, connectTimeoutMs?: number): CompiledCluster => {
      const base = clusters.get(name)!
      if (connectTimeoutMs === undefined || connectTimeoutMs === base.connectTimeoutMs) return base
      const key = `${name}|${connectTimeoutMs}`
      let v = variants.get(key)
      if (!v) variants.set(key, (v = compileCluster({ ...clusterIR.get(name)!, connectTimeoutMs }, stores, poolKeys)))
      return v
    }
    const listeners = new Map<number, CompiledListener>()
    const observed = telemetry === undefined ? (c: CompiledChain) => c : (c: CompiledChain) => withCompletion(c, telemetry.filters)
    for (const l of ir.listeners) {
      const chain = observed(chainForRule(l, undefined, instances, filterIR, deps))
      const preRoute = preRouteFilters(l, instances)
      const table = withCorsPreflight(compileRouteTable(tables.get(l.routeTable)!, {
        cluster: clusterFor,
        chainFor: (rule) => observed(chainForRule(l, rule, instances, filterIR, deps, prebuilt?.overrides)),
        attemptObservers: telemetry?.observers,
        ...(stores.rolloutShare && { rolloutShare: (key: string) => stores.rolloutShare!(key) }),
      }), chain)
      listeners.set(l.port, {
        name: l.name,
        address: l.address,
        port: l.port,
        protocol: l.protocol,
        maxBodyBytes: l.maxBodyBytes,
        routingHeaders: l.routingHeaders,
        table,
        filterNames: l.filters,
        chain,
        preRoute,
        ...buildModelListing(tables.get(l.routeTable)!, ir),
        ...((l.accessLog || ACCESS_LOG_EVERYWHERE) && { accessLog: createAccessLog(deps.prices) }),
        ...(ir.batches?.listeners.includes(l.name) && { batchApi: true as const }),
      })
    }
    return Object.freeze({ version: ir.version, source: ir.source, loadedAt: new Date().toISOString(), listeners, clusters, poolKeys, scrub: createScrubber(ir.secrets ?? []), identity, ...(ir.models !== undefined && { models: compileModelRegistry(ir.models) }) })
  } catch (e) {
    for (const k of poolKeys) stores.pools.release(k)
    throw e
  }
}

/** What filter factories get besides their config: the stores, the tenants and keys, the redis block, the prices. */
export function filterDeps(ir: SnapshotIR, stores: Stores, identity = compileIdentity(ir.tenants, ir.keys)): FilterDeps {
  return { stores, identity, ...(ir.redis !== undefined && { redis: ir.redis }), prices: compilePriceTable(ir.prices ?? []), clusterNames: new Set(ir.clusters.map((c) => c.name)) }
}

/** The chain with the telemetry filters' onComplete last: they see what the other filters settled (usage, status). */
function withCompletion(chain: CompiledChain, filters: readonly Filter[]): CompiledChain {
  return { ...chain, onComplete: [...chain.onComplete, ...filters] }
}

export function releaseSnapshot(s: Snapshot, stores: Stores): void {
  for (const k of s.poolKeys) stores.pools.release(k)
}
