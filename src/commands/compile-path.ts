/**
 * What `validate`, `explain` and `config push` share: read a file or directory, compile it, and
 * print every diagnostic (`file:line:col: path: message`) when it does not compile.
 */
import { isAbsolute, relative } from 'node:path'
import { compileConfig, formatDiagnostic, readPathSources, type SecretMode, type SecretNeeds, type SourceText, type CompileResult } from '../compiler/index.js'
import type { SnapshotIR } from '../compiler/ir.js'
import { dryBuild } from '../runtime/build/dry-build.js'
import { compileWithPlugins } from '../control/compile-plugins.js'

/**
 * `outcome` ends the error count line, e.g. `; nothing pushed`. With `secrets: 'collect'` the
 * references are checked and listed but not read: the IR is then for checking, not serving.
 */
export function compilePathReporting(path: string, outcome = '', secrets: SecretMode = 'resolve'): { sources: SourceText[]; ir: SnapshotIR; needs: SecretNeeds } | undefined {
  let sources: SourceText[]
  try {
    sources = readPathSources(path)
  } catch (e) {
    console.error(`${path}: ${(e as Error).message}`)
    return undefined
  }
  const r = compileConfig(sources, { source: `file:${path}`, secrets, dryBuild })
  if (!r.ok) {
    for (const d of r.diagnostics) console.error(formatDiagnostic(d))
    console.error(`${r.diagnostics.length} error${r.diagnostics.length === 1 ? '' : 's'}${outcome}`)
    return undefined
  }
  return { sources, ir: r.ir, needs: r.needs }
}

/**
 * compilePathReporting with plugin filters checked: their modules are imported and their options
 * validated against the schemas they export (validate, explain, config push).
 */
export async function compilePathWithPlugins(path: string, outcome = '', secrets: SecretMode = 'resolve'): Promise<{ sources: SourceText[]; ir: SnapshotIR; needs: SecretNeeds } | undefined> {
  let sources: SourceText[]
  try {
    sources = readPathSources(path)
  } catch (e) {
    console.error(`${path}: ${(e as Error).message}`)
    return undefined
  }
  return report(await compileWithPlugins(sources, { source: `file:${path}`, secrets, dryBuild }), sources, outcome)
}

function report(r: CompileResult, sources: SourceText[], outcome: string): { sources: SourceText[]; ir: SnapshotIR; needs: SecretNeeds } | undefined {
  if (!r.ok) {
    for (const d of r.diagnostics) console.error(formatDiagnostic(d))
    console.error(`${r.diagnostics.length} error${r.diagnostics.length === 1 ? '' : 's'}${outcome}`)
    return undefined
  }
  return { sources, ir: r.ir, needs: r.needs }
}

/** `; needs: env A, B; file secrets/k (…)` for validate's summary line, or '' when the config references nothing. */
export function describeNeeds(needs: SecretNeeds, resolved: boolean): string {
  const parts = [
    ...(needs.env.length ? [`env ${needs.env.join(', ')}`] : []),
    ...(needs.files.length ? [`file ${needs.files.map(shownPath).join(', ')}`] : []),
  ]
  if (parts.length === 0) return ''
  return `; needs: ${parts.join('; ')} (${resolved ? 'all resolved' : 'not resolved here; --resolve-secrets resolves them'})`
}

/** Relative to the working directory when the file lies below it, else absolute. */
function shownPath(file: string): string {
  const r = relative(process.cwd(), file)
  return r === '' || r.startsWith('..') || isAbsolute(r) ? file : r
}
