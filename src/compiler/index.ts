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
import { FilterBuildError, createFilter } from './compile-filters.js'
import { formatPath } from './diagnostics.js'
import type { Reference, SecretMode } from './secrets.js'
import { createStores } from '../runtime/stores.js'

export type { SourceText } from './load.js'
export { readPathSources } from './load.js'
export { formatDiagnostic } from './diagnostics.js'
export type { SecretMode } from './secrets.js'

/** The references a config holds: environment variables by name, files by absolute path; sorted. */
export interface SecretNeeds {
  readonly env: readonly string[]
  readonly files: readonly string[]
}

export type CompileResult =
  | { readonly ok: true; readonly ir: SnapshotIR; readonly needs: SecretNeeds; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] }

export interface CompileOptions {
  /** Shown as the snapshot's source, e.g. `file:examples/quickstart.yaml`. */
  readonly source: string
  /** Overrides the content-hash version (etcd uses its revision). */
  readonly version?: string
  readonly env?: NodeJS.ProcessEnv
  /**
   * `resolve` (default) reads every `${env:…}`/`${file:…}` reference; `collect` checks their
   * syntax and lists them (CompileResult.needs) without reading any, each standing in as a
   * placeholder. The IR of a `collect` compile is for checking only, never for serving.
   */
  readonly secrets?: SecretMode
}

export function compileConfig(sources: readonly SourceText[], opts: CompileOptions): CompileResult {
  const diags: Diagnostic[] = []
  const docs = loadSources(sources, diags)
  if (diags.length === 0 && docs.length === 0) {
    diags.push({ code: 'SY_CFG_EMPTY', source: sources[0]?.name ?? opts.source, line: 1, col: 1, path: '', message: 'no configuration documents found' })
  }
  validateDocs(docs, diags)
  if (diags.length > 0) return { ok: false, diagnostics: sortDiagnostics(diags) }
  const { body, needs } = resolveDocs(docs, diags, { env: opts.env ?? process.env, secrets: opts.secrets ?? 'resolve' })
  if (diags.length > 0) return { ok: false, diagnostics: sortDiagnostics(diags) }
  const version = opts.version ?? createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 12)
  const ir: SnapshotIR = { version, source: opts.source, ...body }
  checkFilterConfigs(docs, ir, diags)
  if (diags.length > 0) return { ok: false, diagnostics: sortDiagnostics(diags) }
  // A dry build: whatever a worker would trip over surfaces here, before anything goes live.
  const stores = createStores()
  releaseSnapshot(buildSnapshot(ir, stores), stores)
  void stores.pools.closeAll()
  return { ok: true, ir, needs: needsOf(needs), diagnostics: [] }
}

function needsOf(refs: readonly Reference[]): SecretNeeds {
  const names = (kind: Reference['kind']) => [...new Set(refs.filter((r) => r.kind === kind).map((r) => r.name))].sort()
  return { env: names('env'), files: names('file') }
}

/**
 * Runs every filter factory (configured filters and per-rule override configs) so a filter that
 * rejects its config is reported at that config, all of them at once.
 */
function checkFilterConfigs(docs: ReturnType<typeof loadSources>, ir: SnapshotIR, diags: Diagnostic[]): void {
  const deps = { stores: createStores() }
  const types = new Map(ir.filters.map((f) => [f.name, f.type]))
  const tryCreate = (f: { name: string; type: string; config: Record<string, unknown> }, d: (typeof docs)[number], at: (string | number)[], rule?: string) => {
    try {
      createFilter(f, deps, rule)
    } catch (e) {
      if (!(e instanceof FilterBuildError)) throw e
      const pos = positionOf(d, at)
      diags.push({ code: 'SY_CFG_FILTER', source: d.source, ...pos, path: formatPath(at), message: `filter '${f.name}'${rule ? ` (override on rule '${rule}')` : ''}: ${e.message}` })
    }
  }
  const irFilters = new Map(ir.filters.map((f) => [f.name, f]))
  const irTables = new Map(ir.routeTables.map((t) => [t.name, t]))
  for (const d of docs) {
    const v = d.value as { filters?: { name: string }[]; routes?: { name: string; rules?: { filter_overrides?: Record<string, { config?: unknown }> }[] }[] }
    ;(v?.filters ?? []).forEach((f, i) => {
      const resolved = irFilters.get(f.name)
      if (resolved) tryCreate(resolved, d, ['filters', i, 'config'])
    })
    ;(v?.routes ?? []).forEach((t, ti) => {
      const table = irTables.get(t.name)
      ;(t.rules ?? []).forEach((r, ri) => {
        for (const [name, o] of Object.entries(r.filter_overrides ?? {})) {
          const resolved = table?.rules[ri]?.filterOverrides[name]
          const type = types.get(name)
          if (!type || !resolved || !('config' in resolved) || o?.config === undefined) continue
          tryCreate({ name, type, config: resolved.config }, d, ['routes', ti, 'rules', ri, 'filter_overrides', name, 'config'], table!.rules[ri].name)
        }
      })
    })
  }
}
