/**
 * One compile of whatever a config source holds now, for the first start and for every reload.
 * A source that cannot be read (file gone, etcd unreachable) fails like an invalid config: one
 * SY_CFG_IO diagnostic, so the caller keeps the last good snapshot either way.
 *
 * The compile runs in a thread of its own (compile-thread.ts), ended when the pass is over: the
 * main thread loads neither the compiler nor the runtime. The dry build (every filter factory
 * once on its config) is not run here either. checkBuild() has a worker run it (WorkerPool.dryBuild) and locates what it
 * reports; the first start has the workers' own builds report the same problems instead.
 */
import type { CompileResult, FilterProblem } from '../compiler/index.js'
import type { Diagnostic } from '../compiler/diagnostics.js'
import type { SnapshotIR } from '../compiler/ir.js'
import { filterProblemDiagnostics } from '../compiler/filter-sites.js'
import { CompileThread } from './compile-thread.js'
import type { ConfigSource } from './sources/source.js'
import type { EndpointRegistry } from './discovery/endpoint-registry.js'

/** `thread`: the compile thread to use (released after the pass); without one, a thread of its own, ended after it. */
export async function compileSource(source: ConfigSource, discovery?: EndpointRegistry, thread: CompileThread = new CompileThread()): Promise<CompileResult> {
  try {
    const { sources, version } = await source.load()
    const compile = async () => {
      // A source's own version (an etcd revision) does not see registrations: add their hash.
      const registered = version !== undefined ? discovery?.fingerprint() : undefined
      const v = registered !== undefined ? `${version}+${registered}` : version
      return thread.compile(sources, { source: source.description, ...(v !== undefined && { version: v }), filterSites: true, ...(discovery && { discovered: discovery.current() }) }, true)
    }
    let r = await compile()
    if (discovery) {
      // Which clusters have discovery: from this compile, or (when it failed, e.g. a cluster with
      // nothing registered yet and no `endpoints`) from a probe that lets such clusters be empty.
      const probe = r.ok ? r : await thread.compile(sources, { source: source.description, discovered: discovery.current(), discoveryProbe: true }, false)
      // A cluster seen for the first time: its registrations are read now; compile with them.
      if (probe.ok && (await discovery.follow(probe.ir.clusters))) r = await compile()
    }
    // The modules this compile read are watched from now on (a failed compile names them too, so fixing one reloads).
    if (r.files !== undefined) source.watchFiles?.(r.files)
    return r.ok ? r : failed(source, r.diagnostics, r.files)
  } catch (e) {
    return unreadable(source, e)
  } finally {
    thread.release()
  }
}

/** Runs a compiled config's dry build somewhere that has the runtime (a worker thread). */
export type RemoteDryBuild = (ir: SnapshotIR) => Promise<readonly FilterProblem[]>

/**
 * `r` once built the way a worker will build it: unchanged when every filter accepts its config,
 * else a failed result with each objection at the config it rejects (as the compiler reports its
 * own errors). What else the build throws fails the compile as an unreadable source does.
 */
export async function checkBuild(source: ConfigSource, r: CompileResult, dryBuild: RemoteDryBuild): Promise<CompileResult> {
  if (!r.ok) return r
  try {
    const problems = await dryBuild(r.ir)
    return problems.length === 0 ? r : rejectedBuild(source, r, problems)
  } catch (e) {
    return unreadable(source, e)
  }
}

/** A compiled config rejected by its filters (a dry build's or a worker's own build's problems): located, in the source's terms. */
export function rejectedBuild(source: ConfigSource, r: Extract<CompileResult, { ok: true }>, problems: readonly FilterProblem[]): Extract<CompileResult, { ok: false }> {
  const located = filterProblemDiagnostics(r.filterSites ?? [], problems)
  // A problem whose config cannot be found again still rejects the config (else a worker would fail to build it).
  const diagnostics = located.length > 0 ? located : problems.map((p) => ({ code: 'SY_CFG_FILTER' as const, source: r.ir.source, line: 1, col: 1, path: '', message: `filter '${p.filter}': ${p.message}` }))
  return failed(source, diagnostics, r.files)
}

function failed(source: ConfigSource, diagnostics: readonly Diagnostic[], files: readonly string[] | undefined): Extract<CompileResult, { ok: false }> {
  return { ok: false as const, diagnostics: source.mapDiagnostic ? diagnostics.map((d) => source.mapDiagnostic!(d)) : diagnostics, ...(files !== undefined && { files }) }
}

function unreadable(source: ConfigSource, e: unknown): CompileResult {
  const err = e as NodeJS.ErrnoException
  const d: Diagnostic = { code: 'SY_CFG_IO', source: source.description, line: 1, col: 1, path: '', message: `${err.code ?? 'error'}: ${err.message}` }
  return { ok: false as const, diagnostics: [d] }
}
