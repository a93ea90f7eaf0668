/**
 * One compile of whatever a config source holds now, for the first start and for every reload.
 * A source that cannot be read (file gone, etcd unreachable) fails like an invalid config: one
 * SY_CFG_IO diagnostic, so the caller keeps the last good snapshot either way.
 */
import { compileConfig, type CompileResult } from '../compiler/index.js'
import type { Diagnostic } from '../compiler/diagnostics.js'
import { dryBuild } from '../runtime/build/dry-build.js'
import type { ConfigSource } from './sources/source.js'

export async function compileSource(source: ConfigSource): Promise<CompileResult> {
  try {
    const { sources, version } = await source.load()
    const r = compileConfig(sources, { source: source.description, ...(version !== undefined && { version }), dryBuild })
    return r.ok || !source.mapDiagnostic ? r : { ok: false as const, diagnostics: r.diagnostics.map((d) => source.mapDiagnostic!(d)) }
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    const d: Diagnostic = { code: 'SY_CFG_IO', source: source.description, line: 1, col: 1, path: '', message: `${err.code ?? 'error'}: ${err.message}` }
    return { ok: false as const, diagnostics: [d] }
  }
}
