/**
 * The JavaScript plugin modules this thread has imported, by URL. A plugin filter's IR names its
 * module as a `file:` URL carrying the file's content hash (`…/redact.mjs?v=3f2a…`, made by the
 * compiler), so an edited file is a new URL: Node's module cache never hands back the old code,
 * and a snapshot still draining keeps the instance it was built with.
 *
 * Importing is asynchronous and snapshot builds are not, so whoever builds a snapshot first
 * awaits `loadPluginModules` for the IR's plugin URLs (the worker before each build, the control
 * plane before it compiles: the compiler reads each module's options schema through
 * `describePluginModule`). Both threads import the same URL, and the main thread does so first:
 * a module that throws at import, or lacks `create`, is a located compile error and never reaches
 * a worker.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FilterIR, SnapshotIR } from '../../../compiler/ir.js'

/** What a plugin module must export (docs/plugins.md): `create`, optionally `schema` and `apiVersion`. */
export interface PluginModule {
  readonly create: (options: any, host: unknown) => unknown
  readonly schema?: unknown
  readonly apiVersion?: unknown
}

type Loaded = { readonly ok: true; readonly module: PluginModule } | { readonly ok: false; readonly message: string }

const loaded = new Map<string, Loaded>()
/** URLs whose file held other content when asked for: reported, tried again on the next load. */
const changed = new Set<string>()

/** What the compiler learns of a module: its options schema, or why it cannot be used. */
export type PluginModuleFacts =
  | { readonly ok: true; readonly schema: object | undefined }
  | { readonly ok: false; readonly message: string }

/** Imports every URL not imported yet; a failure is remembered, never thrown (the compiler reports it). */
export async function loadPluginModules(urls: Iterable<string>): Promise<void> {
  const pending: Promise<void>[] = []
  for (const url of urls) {
    if (loaded.has(url)) continue
    changed.delete(url)
    pending.push(importOne(url).then((r) => void (r ? loaded.set(url, r) : changed.add(url))))
  }
  await Promise.all(pending)
}

async function importOne(url: string): Promise<Loaded | undefined> {
  // The URL names one version of the file; one edited since (a worker started later, an edit
  // racing the compile) is refused, not imported under the old version's name. Not remembered:
  // the file may come back to this version.
  const v = new URL(url).searchParams.get('v')
  try {
    if (v !== null && contentHash(fileOf(url)) !== v) return undefined
  } catch {
    return { ok: false, message: `module not found: ${fileOf(url)}` }
  }
  let ns: Record<string, unknown>
  try {
    ns = (await import(url)) as Record<string, unknown>
  } catch (e) {
    // The file exists (hashed above): a missing import is one of its own dependencies.
    return { ok: false, message: `module threw while loading: ${firstLine((e as Error)?.message ?? String(e))}` }
  }
  // A CommonJS module's exports arrive as `default`.
  const mod = (typeof ns.create !== 'function' && ns.default && typeof (ns.default as PluginModule).create === 'function' ? ns.default : ns) as PluginModule
  if (typeof mod.create !== 'function') return { ok: false, message: 'module does not export a create(options, host) function' }
  if (mod.apiVersion !== undefined && mod.apiVersion !== PLUGIN_API_VERSION) return { ok: false, message: `module targets plugin API version ${String(mod.apiVersion)}; this gateway offers version ${PLUGIN_API_VERSION}` }
  if (mod.schema !== undefined && (typeof mod.schema !== 'object' || mod.schema === null || Array.isArray(mod.schema))) return { ok: false, message: "module's `schema` export is not a JSON Schema object" }
  return { ok: true, module: mod }
}

/** The plugin API this gateway implements (docs/plugins.md, "Versioning"). */
export const PLUGIN_API_VERSION = 1

/** The imported module, once loadPluginModules has seen its URL. */
export function pluginModule(url: string): Loaded | undefined {
  return loaded.get(url) ?? (changed.has(url) ? CHANGED : undefined)
}

const CHANGED: Loaded = { ok: false, message: 'the module file changed since this config was compiled (the reload that follows picks the new version up)' }

/** For the compiler (CompileOptions.plugins): undefined until the URL was loaded. */
export function describePluginModule(url: string): PluginModuleFacts | undefined {
  const r = pluginModule(url)
  if (r === undefined) return undefined
  return r.ok ? { ok: true, schema: r.module.schema as object | undefined } : r
}

/** The module URLs of an IR's plugin filters. */
export function pluginUrlsOf(ir: Pick<SnapshotIR, 'filters'>): string[] {
  const out: string[] = []
  for (const f of ir.filters) {
    const url = pluginUrlOf(f)
    if (url !== undefined) out.push(url)
  }
  return out
}

export function pluginUrlOf(f: FilterIR): string | undefined {
  return f.type === 'plugin' && typeof f.config.module === 'string' ? f.config.module : undefined
}

/** Every URL of the IR already imported (a build then needs no wait). */
export function pluginsReady(ir: Pick<SnapshotIR, 'filters'>): boolean {
  for (const f of ir.filters) {
    const url = pluginUrlOf(f)
    if (url !== undefined && !loaded.has(url)) return false
  }
  return true
}

function fileOf(url: string): string {
  const q = url.indexOf('?')
  return fileURLToPath(q < 0 ? url : url.slice(0, q))
}

/** The file's content hash as the compiler computed it (resolve/plugins.ts). */
function contentHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16)
}

function firstLine(s: string): string {
  const i = s.indexOf('\n')
  return i < 0 ? s : s.slice(0, i)
}
