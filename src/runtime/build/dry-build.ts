/**
 * The dry build (CompileOptions.dryBuild; `switchyard run` asks a worker thread for it, the CLI
 * and the admin config check run it themselves): every filter factory
 * runs once on its config — configured filters and rules' override configs, so all that reject
 * theirs are reported at once — and when all accept, the snapshot a worker would build from the
 * IR is built from those same instances and released again. Whatever else a worker would trip
 * over is thrown here instead.
 */
import type { FilterProblem } from '../../compiler/index.js'
import type { RuleIR, SnapshotIR } from '../../compiler/ir.js'
import type { Filter, FilterDeps, Snapshot, Stores } from '../types.js'
import type { SnapshotTelemetry } from '../telemetry/request-metrics.js'
import { createStores } from '../stores.js'
import { buildSnapshot, filterDeps, releaseSnapshot } from './snapshot.js'
import { FilterBuildError, createFilter, type PrebuiltFilters } from './filters.js'

export function dryBuild(ir: SnapshotIR): FilterProblem[] {
  const stores = createStores()
  const built = buildChecked(ir, stores)
  if ('problems' in built) {
    void stores.close()
    return built.problems
  }
  releaseSnapshot(built.snapshot, stores)
  void stores.pools.closeAll()
  void stores.close()
  return []
}

/**
 * A worker's build of the snapshot it will serve, with every filter factory run first so that all
 * the filters rejecting their config are reported at once (the first start has no dry build
 * before it: these problems are its diagnostics). Whatever else the build trips over it throws.
 */
export function buildChecked(ir: SnapshotIR, stores: Stores, telemetry?: SnapshotTelemetry): { snapshot: Snapshot } | { problems: FilterProblem[] } {
  const { filters, problems } = createEveryFilter(ir, filterDeps(ir, stores))
  if (problems.length > 0) return { problems }
  return { snapshot: buildSnapshot(ir, stores, filters, telemetry) }
}

function createEveryFilter(ir: SnapshotIR, deps: FilterDeps): { filters: PrebuiltFilters; problems: FilterProblem[] } {
  const problems: FilterProblem[] = []
  const create = (f: { name: string; type: string; config: Record<string, unknown> }, override?: FilterProblem['override']): Filter | undefined => {
    try {
      return createFilter(f, deps, override?.rule)
    } catch (e) {
      if (!(e instanceof FilterBuildError)) throw e
      problems.push({ filter: f.name, ...(override && { override }), message: e.message })
      return undefined
    }
  }
  const configured = new Map<string, Filter>()
  for (const f of ir.filters) {
    const made = create(f)
    if (made) configured.set(f.name, made)
  }
  const types = new Map(ir.filters.map((f) => [f.name, f.type]))
  const overrides = new Map<RuleIR, Map<string, Filter>>()
  for (const t of ir.routeTables) {
    t.rules.forEach((r, index) => {
      for (const [name, o] of Object.entries(r.filterOverrides)) {
        const type = types.get(name)
        if (!type || !('config' in o) || o.config === undefined) continue
        const made = create({ name, type, config: o.config }, { table: t.name, index, rule: r.name })
        if (!made) continue
        let byName = overrides.get(r)
        if (!byName) overrides.set(r, (byName = new Map()))
        byName.set(name, made)
      }
    })
  }
  return { filters: { configured, overrides }, problems }
}
