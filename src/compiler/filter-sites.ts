/**
 * Where each filter's config was written, as plain data: a dry build that runs after the compile,
 * in another thread (`switchyard run` asks a worker), reports its problems by filter name and
 * rule, and these turn them into the diagnostics the compiler would have reported itself — at the
 * config's `file:line:col`. Plain data so that a compile result can cross threads; small, so that
 * the main thread can locate problems without loading the compiler.
 */
import { sortDiagnostics, type Diagnostic } from './diagnostics.js'

/**
 * A filter factory's objection to its config: a configured filter's, or with `override` the
 * config a route rule gives it in `filter_overrides` (`index` in its table, `rule` its name).
 */
export interface FilterProblem {
  readonly filter: string
  readonly override?: { readonly table: string; readonly index: number; readonly rule: string }
  readonly message: string
}

/** A filter config's place: a configured filter's `config`, or with `override` a rule's `filter_overrides.<name>.config`. */
export interface FilterSite {
  readonly filter: string
  readonly override?: { readonly table: string; readonly index: number }
  readonly at: Omit<Diagnostic, 'message'>
}

/** Each problem as a SY_CFG_FILTER diagnostic at its config; a problem with no known site is left out. */
export function filterProblemDiagnostics(sites: readonly FilterSite[], problems: readonly FilterProblem[]): Diagnostic[] {
  const out: Diagnostic[] = []
  for (const p of problems) {
    const o = p.override
    const site = sites.find((s) => s.filter === p.filter && (o ? s.override?.table === o.table && s.override.index === o.index : s.override === undefined))
    if (site === undefined) continue
    out.push({ ...site.at, message: `filter '${p.filter}'${o ? ` (override on rule '${o.rule}')` : ''}: ${p.message}` })
  }
  return sortDiagnostics(out)
}
