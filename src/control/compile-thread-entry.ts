/**
 * The compile thread (compile-thread.ts): answers each { id, sources, opts } with the compile's
 * result, or the message and code of whatever the compile threw. `plugins`: compile with the
 * plugin modules' schemas (compile-plugins.ts imports the modules here, in this thread).
 */
import { parentPort } from 'node:worker_threads'
import { compileConfig, type CompileOptions, type CompileResult, type SourceText } from '../compiler/index.js'
import { compileWithPlugins } from './compile-plugins.js'

export interface CompileRequest {
  readonly id: number
  readonly sources: readonly SourceText[]
  /** Plain data only: no dry build (a worker runs it), no plugin lookup (`plugins` asks for it). */
  readonly opts: Omit<CompileOptions, 'dryBuild' | 'plugins'>
  readonly plugins: boolean
}
export type CompileReply = { readonly id: number } & ({ readonly result: CompileResult } | { readonly error: { readonly message: string; readonly code?: string } })

parentPort!.on('message', (req: CompileRequest) => {
  const compiled: Promise<CompileResult> = req.plugins ? compileWithPlugins(req.sources, req.opts) : Promise.resolve().then(() => compileConfig(req.sources, req.opts))
  void compiled.then(
    (result) => parentPort!.postMessage({ id: req.id, result } satisfies CompileReply),
    (e: NodeJS.ErrnoException) => parentPort!.postMessage({ id: req.id, error: { message: String(e?.message ?? e), ...(e?.code !== undefined && { code: e.code }) } } satisfies CompileReply),
  )
})
