/**
 * The compiler front: sources → load (positions) → validate (schema) → resolve (refs, secrets)
 * → SnapshotIR, then (given `dryBuild`) a dry build of the runtime snapshot so filter factories
 * can reject their config here rather than in a worker. All problems come back at once, sorted.
 * Main thread only; it never imports the runtime: the dry build is passed in.
 */
import { createHash } from 'node:crypto'
import type { Diagnostic } from './diagnostics.js'
import { sortDiagnostics } from './diagnostics.js'
import type { DiscoveredEndpoint, SnapshotIR } from './ir.js'
import { loadSources, type SourceText } from './load.js'
import { resolveDocs, type SourcePositions } from './resolve/index.js'
import { diagnosticAt } from './resolve/positions.js'
import { validateDocs } from './validate.js'
import { filterProblemDiagnostics, type FilterProblem, type FilterSite } from './filter-sites.js'
export type { FilterProblem, FilterSite } from './filter-sites.js'
import type { Reference, SecretMode } from './references.js'
import type { PluginModuleLookup } from './resolve/context.js'
export type { PluginModuleLookup } from './resolve/context.js'

export type { SourceText } from './load.js'
export { readPathSources } from './load.js'
export { formatDiagnostic } from './diagnostics.js'
export type { SecretMode } from './references.js'

/** The references a config holds: environment variables by name, files by absolute path; sorted. */
export interface SecretNeeds {
  readonly env: readonly string[]
  readonly files: readonly string[]
}

export type CompileResult =
  | {
      readonly ok: true
      readonly ir: SnapshotIR
      readonly needs: SecretNeeds
      readonly diagnostics: readonly Diagnostic[]
      readonly files?: readonly string[]
      /** With CompileOptions.filterSites: where each filter config was written, to locate a later dry build's problems (filter-sites.ts). */
      readonly filterSites?: readonly FilterSite[]
    }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[]; readonly files?: readonly string[]; readonly pluginsToLoad?: readonly string[] }

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
  /**
   * Builds what a worker will build from the IR (runtime/build/dry-build.ts), so whatever a
   * worker would trip over surfaces here, before anything goes live. Filters that reject their
   * config come back as problems (reported as SY_CFG_FILTER at that config); anything else it
   * throws, and compileConfig lets it through. Without it only the compiler's own checks run.
   */
  readonly dryBuild?: DryBuild
  /**
   * The dry build runs after this compile, somewhere else (`switchyard run`: in a worker thread,
   * which has the runtime loaded — so neither the main thread nor the compile thread loads a copy
   * of it): the result keeps `filterSites`, to turn that build's problems into located diagnostics.
   */
  readonly filterSites?: boolean
  /** Endpoints registered in etcd, by cluster name (control/discovery reads them). */
  readonly discovered?: Readonly<Record<string, readonly DiscoveredEndpoint[]>>
  /**
   * A probe: clusters with `discovery` may come out without endpoints, so the caller learns which
   * prefixes to read before compiling again with `discovered`. Never serve such an IR.
   */
  readonly discoveryProbe?: boolean
  /**
   * What each plugin module (`type: plugin` filters) exports, by its content-hashed URL: its
   * options are checked against the schema it exports. A URL it does not know yet comes back in
   * the failed result's `pluginsToLoad`: import those, then compile again
   * (control/compile-plugins.ts). Absent: plugin options are not checked.
   */
  readonly plugins?: PluginModuleLookup
}

export type DryBuild = (ir: SnapshotIR) => readonly FilterProblem[]

export function compileConfig(sources: readonly SourceText[], opts: CompileOptions): CompileResult {
  const diags: Diagnostic[] = []
  const docs = loadSources(sources, diags)
  if (diags.length === 0 && docs.length === 0) {
    diags.push({ code: 'SY_CFG_EMPTY', source: sources[0]?.name ?? opts.source, line: 1, col: 1, path: '', message: 'no configuration documents found' })
  }
  validateDocs(docs, diags)
  if (diags.length > 0) return { ok: false, diagnostics: sortDiagnostics(diags) }
  const { body, needs, positions, files, pluginsToLoad } = resolveDocs(docs, diags, { env: opts.env ?? process.env, secrets: opts.secrets ?? 'resolve', ...(opts.discovered && { discovered: opts.discovered }), ...(opts.discoveryProbe && { discoveryProbe: true }), ...(opts.plugins && { plugins: opts.plugins }) })
  // Files read besides the sources (WASM and plugin modules): the caller watches them, even when this compile fails.
  const read = files.length > 0 ? { files } : {}
  if (diags.length > 0) return { ok: false, diagnostics: sortDiagnostics(diags), ...read, ...(pluginsToLoad.length > 0 && { pluginsToLoad }) }
  const version = opts.version ?? createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 12)
  const ir: SnapshotIR = { version, source: opts.source, ...body }
  if (opts.dryBuild) reportFilterProblems(ir, positions, opts.dryBuild(ir), diags)
  if (diags.length > 0) return { ok: false, diagnostics: sortDiagnostics(diags), ...read }
  return { ok: true, ir, needs: needsOf(needs), diagnostics: [], ...read, ...(opts.filterSites === true && { filterSites: filterSitesOf(ir, positions) }) }
}

function needsOf(refs: readonly Reference[]): SecretNeeds {
  const names = (kind: Reference['kind']) => [...new Set(refs.filter((r) => r.kind === kind).map((r) => r.name))].sort()
  return { env: names('env'), files: names('file') }
}

/**
 * Each filter problem as a diagnostic at the config it rejects: the IR path of that config
 * (`filters[i].config`, or a rule's `filterOverrides.<name>.config`) leads back to where it was written.
 */
function reportFilterProblems(ir: SnapshotIR, positions: SourcePositions, problems: readonly FilterProblem[], diags: Diagnostic[]): void {
  diags.push(...filterProblemDiagnostics(filterSitesOf(ir, positions), problems))
}

/** Every filter config's place: the configured filters' and the rules' override configs. */
function filterSitesOf(ir: SnapshotIR, positions: SourcePositions): FilterSite[] {
  const sites: FilterSite[] = []
  const add = (filter: string, irPath: (string | number)[], override?: FilterSite['override']) => {
    const at = positions.locate(irPath)
    if (!at) return
    const { message: _, ...place } = diagnosticAt('SY_CFG_FILTER', at, '')
    sites.push({ filter, ...(override && { override }), at: place })
  }
  ir.filters.forEach((f, i) => add(f.name, ['filters', i, 'config']))
  ir.routeTables.forEach((t, ti) => t.rules.forEach((r, index) => {
    for (const [name, o] of Object.entries(r.filterOverrides)) {
      if ('config' in o && o.config !== undefined) add(name, ['routeTables', ti, 'rules', index, 'filterOverrides', name, 'config'], { table: t.name, index })
    }
  }))
  return sites
}
