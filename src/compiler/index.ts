/**
 * The compiler front: sources → load (positions) → validate (schema) → resolve (refs, secrets)
 * → SnapshotIR, then a dry build of the runtime snapshot so filter factories can reject their
 * config here rather than in a worker. All problems come back at once, sorted.
 */
import { createHash } from 'node:crypto'
import type { Diagnostic } from './diagnostics.js'
import { sortDiagnostics } from './diagnostics.js'
import type { SnapshotIR } from './ir.js'
import { loadSources, positionOf, type SourceText } from './load.js'
import { resolveDocs } from './resolve.js'
import { validateDocs } from './validate.js'
import { buildSnapshot, releaseSnapshot } from './snapshot.js'
import { FilterBuildError } from './compile-filters.js'
import { createStores } from '../runtime/stores.js'

export type { SourceText } from './load.js'
export { readPathSources } from './load.js'
export { formatDiagnostic } from './diagnostics.js'

export type CompileResult =
  | { readonly ok: true; readonly ir: SnapshotIR; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] }

export interface CompileOptions {
  /** Shown as the snapshot's source, e.g. `file:examples/quickstart.yaml`. */
  readonly source: string
  /** Overrides the content-hash version (etcd uses its revision). */
  readonly version?: string
  readonly env?: NodeJS.ProcessEnv
}

export function compileConfig(sources: readonly SourceText[], opts: CompileOptions): CompileResult {
  const diags: Diagnostic[] = []
  const docs = loadSources(sources, diags)
  if (diags.length === 0 && docs.length === 0) {
    diags.push({ code: 'SY_CFG_EMPTY', source: sources[0]?.name ?? opts.source, line: 1, col: 1, path: '', message: 'no configuration documents found' })
  }
  validateDocs(docs, diags)
  if (diags.length > 0) return { ok: false, diagnostics: sortDiagnostics(diags) }
  const body = resolveDocs(docs, diags, { env: opts.env ?? process.env })
  if (diags.length > 0) return { ok: false, diagnostics: sortDiagnostics(diags) }
  const version = opts.version ?? createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 12)
  const ir: SnapshotIR = { version, source: opts.source, ...body }
  try {
    const stores = createStores()
    releaseSnapshot(buildSnapshot(ir, stores), stores)
  } catch (e) {
    if (!(e instanceof FilterBuildError)) throw e
    const loc = findFilter(docs, e.filter)
    diags.push({ code: 'SY_CFG_FILTER', source: loc.source, line: loc.line, col: loc.col, path: loc.path, message: `filter '${e.filter}'${e.rule ? ` (override on rule '${e.rule}')` : ''}: ${e.message}` })
    return { ok: false, diagnostics: diags }
  }
  return { ok: true, ir, diagnostics: [] }
}

function findFilter(docs: ReturnType<typeof loadSources>, name: string) {
  for (const d of docs) {
    const list = (d.value as { filters?: { name: string }[] })?.filters ?? []
    const i = list.findIndex((f) => f.name === name)
    if (i >= 0) return { source: d.source, ...positionOf(d, ['filters', i, 'config']), path: `filters[${i}].config` }
  }
  return { source: docs[0]?.source ?? '', line: 1, col: 1, path: '' }
}
