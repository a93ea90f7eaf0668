/**
 * One check of a config text, as `switchyard validate` checks a file: schema, references, every
 * filter factory once (the dry build), secret references checked and listed but never read.
 * Nothing is applied. Runs in the checker's own thread (config-checker.ts), never on the main one.
 */
import { compileConfig, formatDiagnostic } from '../../compiler/index.js'
import type { Diagnostic } from '../../compiler/diagnostics.js'
import { dryBuild } from '../../runtime/build/dry-build.js'

export type CheckAnswer =
  | { readonly ok: true; readonly version: string; readonly summary: string; readonly warnings: readonly string[]; readonly needs: { readonly env: readonly string[]; readonly files: readonly string[] } }
  | { readonly ok: false; readonly errors: readonly string[]; readonly diagnostics: readonly Diagnostic[] }

/** Compiles `text` as the file `name`; the summary is the line `switchyard validate` prints for a config without secret references. */
export function checkConfigText(name: string, text: string): CheckAnswer {
  const r = compileConfig([{ name, text }], { source: `file:${name}`, secrets: 'collect', dryBuild })
  if (!r.ok) return { ok: false, errors: r.diagnostics.map(formatDiagnostic), diagnostics: r.diagnostics }
  const ir = r.ir
  const rules = ir.routeTables.reduce((n, t) => n + t.rules.length, 0)
  return {
    ok: true,
    version: ir.version,
    summary: `${name}: ok (version ${ir.version}): ${ir.listeners.length} listeners, ${ir.routeTables.length} route tables (${rules} rules), ${ir.clusters.length} clusters, ${ir.filters.length} filters`,
    warnings: ir.warnings,
    needs: r.needs,
  }
}
