/**
 * The compiler's dry build (CompileOptions.dryBuild), on the main thread: every filter factory
 * runs once on its config — configured filters and rules' override configs, so all that reject
 * theirs are reported at once — and when all accept, the snapshot a worker would build from the
 * IR is built from those same instances and released again. Whatever else a worker would trip
 * over is thrown here instead.
 */
import type { FilterProblem } from '../../compiler/index.js'
import type { RuleIR, SnapshotIR } from '../../compiler/ir.js'
import type { Filter, FilterDeps } from '../types.js'
import { createStores } from '../stores.js'
import { buildSnapshot, filterDeps, releaseSnapshot } from './snapshot.js'
import { FilterBuildError, createFilter, type PrebuiltFilters } from './filters.js'

export function dryBuild(ir: SnapshotIR): FilterProblem[] {
  const stores = createStores()
  const { filters, problems } = createEveryFilter(ir, filterDeps(ir, stores))
  if (problems.length > 0) {
    void stores.close()
    return problems
  }
  releaseSnapshot(buildSnapshot(ir, stores, filters), stores)
  void stores.pools.closeAll()
  void stores.close()
  return []
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
