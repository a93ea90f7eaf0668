/**
 * SnapshotIR (plain data) → Snapshot (matchers, filter instances, LBs, pools). Deterministic and
 * side-effect free apart from acquiring pools from the stores, so every worker thread builds the
 * same thing from the same IR. If building fails, acquired pools are released again.
 */
import type { SnapshotIR } from './ir.js'
import type { CompiledCluster, CompiledListener, Snapshot, Stores } from '../runtime/types.js'
import { compileCluster } from './compile-clusters.js'
import { compileRouteTable } from './compile-routes.js'
import { chainForRule, createFilters } from './compile-filters.js'

export function buildSnapshot(ir: SnapshotIR, stores: Stores): Snapshot {
  const poolKeys: string[] = []
  try {
    const deps = { stores }
    const clusters = new Map<string, CompiledCluster>()
    for (const c of ir.clusters) clusters.set(c.name, compileCluster(c, stores, poolKeys))
    const instances = createFilters(ir.filters, deps)
    const filterIR = new Map(ir.filters.map((f) => [f.name, f]))
    const tables = new Map(ir.routeTables.map((t) => [t.name, t]))
    const listeners = new Map<number, CompiledListener>()
    for (const l of ir.listeners) {
      const table = compileRouteTable(tables.get(l.routeTable)!, {
        cluster: (name) => clusters.get(name)!,
        chainFor: (rule) => chainForRule(l, rule, instances, filterIR, deps),
      })
      listeners.set(l.port, {
        name: l.name,
        address: l.address,
        port: l.port,
        protocol: l.protocol,
        maxBodyBytes: l.maxBodyBytes,
        table,
        filterNames: l.filters,
        chain: chainForRule(l, undefined, instances, filterIR, deps),
      })
    }
    return Object.freeze({ version: ir.version, source: ir.source, loadedAt: new Date().toISOString(), ir, listeners, clusters, poolKeys })
  } catch (e) {
    for (const k of poolKeys) stores.pools.release(k)
    throw e
  }
}

export function releaseSnapshot(s: Snapshot, stores: Stores): void {
  for (const k of s.poolKeys) stores.pools.release(k)
}
