/**
 * One compile of whatever a config source holds now, for the first start and for every reload.
 * A source that cannot be read (file gone, etcd unreachable) fails like an invalid config: one
 * SY_CFG_IO diagnostic, so the caller keeps the last good snapshot either way.
 */
import { compileConfig, type CompileResult } from '../compiler/index.js'
import type { Diagnostic } from '../compiler/diagnostics.js'
import { dryBuild } from '../runtime/build/dry-build.js'
import { compileWithPlugins } from './compile-plugins.js'
import type { ConfigSource } from './sources/source.js'
import type { EndpointRegistry } from './discovery/endpoint-registry.js'

export async function compileSource(source: ConfigSource, discovery?: EndpointRegistry): Promise<CompileResult> {
  try {
    const { sources, version } = await source.load()
    const compile = async () => {
      // A source's own version (an etcd revision) does not see registrations: add their hash.
      const registered = version !== undefined ? discovery?.fingerprint() : undefined
      const v = registered !== undefined ? `${version}+${registered}` : version
      return compileWithPlugins(sources, { source: source.description, ...(v !== undefined && { version: v }), dryBuild, ...(discovery && { discovered: discovery.current() }) })
    }
    let r = await compile()
    if (discovery) {
      // Which clusters have discovery: from this compile, or (when it failed, e.g. a cluster with
      // nothing registered yet and no `endpoints`) from a probe that lets such clusters be empty.
      const probe = r.ok ? r : compileConfig(sources, { source: source.description, discovered: discovery.current(), discoveryProbe: true })
      // A cluster seen for the first time: its registrations are read now; compile with them.
      if (probe.ok && (await discovery.follow(probe.ir.clusters))) r = await compile()
    }
    // The modules this compile read are watched from now on (a failed compile names them too, so fixing one reloads).
    if (r.files !== undefined) source.watchFiles?.(r.files)
    return r.ok || !source.mapDiagnostic ? r : { ok: false as const, diagnostics: r.diagnostics.map((d) => source.mapDiagnostic!(d)) }
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    const d: Diagnostic = { code: 'SY_CFG_IO', source: source.description, line: 1, col: 1, path: '', message: `${err.code ?? 'error'}: ${err.message}` }
    return { ok: false as const, diagnostics: [d] }
  }
}
