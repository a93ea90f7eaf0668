/**
 * What `validate`, `explain` and `config push` share: read a file or directory, compile it, and
 * print every diagnostic (`file:line:col: path: message`) when it does not compile.
 */
import { compileConfig, formatDiagnostic, readPathSources, type SourceText } from '../compiler/index.js'
import type { SnapshotIR } from '../compiler/ir.js'

/** `outcome` ends the error count line, e.g. `; nothing pushed`. */
export function compilePathReporting(path: string, outcome = ''): { sources: SourceText[]; ir: SnapshotIR } | undefined {
  let sources: SourceText[]
  try {
    sources = readPathSources(path)
  } catch (e) {
    console.error(`${path}: ${(e as Error).message}`)
    return undefined
  }
  const r = compileConfig(sources, { source: `file:${path}` })
  if (!r.ok) {
    for (const d of r.diagnostics) console.error(formatDiagnostic(d))
    console.error(`${r.diagnostics.length} error${r.diagnostics.length === 1 ? '' : 's'}${outcome}`)
    return undefined
  }
  return { sources, ir: r.ir }
}
