/**
 * The compiler's dry build (CompileOptions.dryBuild), on the main thread: every filter factory
 * runs on its config — configured filters and rules' override configs, so all that reject theirs
 * are reported at once — and when all accept, the snapshot a worker would build from the IR is
 * built and released again. Whatever else a worker would trip over is thrown here instead.
 */
import type { FilterProblem } from '../../compiler/index.js'
import type { SnapshotIR } from '../../compiler/ir.js'
import { createStores } from '../stores.js'
import { buildSnapshot, releaseSnapshot } from './snapshot.js'
import { FilterBuildError, createFilter } from './filters.js'

export function dryBuild(ir: SnapshotIR): FilterProblem[] {
  const problems = filterProblems(ir)
  if (problems.length > 0) return problems
  const stores = createStores()
  releaseSnapshot(buildSnapshot(ir, stores), stores)
  void stores.pools.closeAll()
  return []
}

function filterProblems(ir: SnapshotIR): FilterProblem[] {
  const deps = { stores: createStores() }
  const problems: FilterProblem[] = []
  const check = (f: { name: string; type: string; config: Record<string, unknown> }, override?: FilterProblem['override']) => {
    try {
      createFilter(f, deps, override?.rule)
    } catch (e) {
      if (!(e instanceof FilterBuildError)) throw e
      problems.push({ filter: f.name, ...(override && { override }), message: e.message })
    }
  }
  const types = new Map(ir.filters.map((f) => [f.name, f.type]))
  for (const f of ir.filters) check(f)
  for (const t of ir.routeTables) {
    t.rules.forEach((r, index) => {
      for (const [name, o] of Object.entries(r.filterOverrides)) {
        const type = types.get(name)
        if (type && 'config' in o && o.config !== undefined) check({ name, type, config: o.config }, { table: t.name, index, rule: r.name })
      }
    })
  }
  return problems
}
