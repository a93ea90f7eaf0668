/**
 * What every resolver shares: the diagnostics list it appends to, the secret resolver, and the IR
 * path → source map it records what it lowers into.
 */
import type { Diagnostic, DiagnosticCode } from '../diagnostics.js'
import type { SecretMode } from '../references.js'
import type { DiscoveredEndpoint } from '../ir.js'
import { diagnosticAt, SourcePositions, type Located } from './positions.js'
import { SecretResolver } from './secrets.js'

/** What the caller knows of a plugin module (by its content-hashed URL); undefined while it is not loaded. */
export type PluginModuleLookup = (url: string) => { readonly ok: true; readonly schema: object | undefined } | { readonly ok: false; readonly message: string } | undefined

export interface ResolveOptions {
  readonly env: NodeJS.ProcessEnv
  readonly secrets: SecretMode
  /** Registered endpoints by cluster name (clusters with `discovery`). */
  readonly discovered?: Readonly<Record<string, readonly DiscoveredEndpoint[]>>
  /** Clusters with discovery may have no endpoint (compileConfig's discoveryProbe). */
  readonly discoveryProbe?: boolean
  /** What each plugin module exports, once loaded (resolve/plugins.ts); absent: options are not checked. */
  readonly plugins?: PluginModuleLookup
}

export interface ResolveContext {
  readonly diags: Diagnostic[]
  readonly mode: SecretMode
  readonly secrets: SecretResolver
  readonly positions: SourcePositions
  readonly discovered: Readonly<Record<string, readonly DiscoveredEndpoint[]>>
  readonly discoveryProbe: boolean
  /** Files the config reads besides its sources (WASM and plugin modules), absolute: watched like the config. */
  readonly files: string[]
  readonly plugins: PluginModuleLookup | undefined
  /** Plugin module URLs `plugins` has not loaded: the caller imports them and compiles again. */
  readonly pluginsToLoad: string[]
  report(code: DiagnosticCode, loc: Located, message: string, key?: string): void
}

export function createContext(diags: Diagnostic[], opts: ResolveOptions): ResolveContext {
  const report = (code: DiagnosticCode, loc: Located, message: string, key?: string) => {
    diags.push(diagnosticAt(code, loc, message, key))
  }
  return { diags, mode: opts.secrets, secrets: new SecretResolver(opts, report), positions: new SourcePositions(), discovered: opts.discovered ?? {}, discoveryProbe: opts.discoveryProbe === true, files: [], plugins: opts.plugins, pluginsToLoad: [], report }
}
