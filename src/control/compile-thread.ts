/**
 * Compiles config in a thread of its own, so the main thread of `switchyard run` never loads the
 * compiler (yaml, the schema validators, the resolvers) and never holds their garbage: ≈5 MB of
 * heap the process would otherwise keep for its whole life (bench/SOAK.md). The thread starts with
 * a compile and ends `idleMs` after the last one (a burst of reloads — an editor's saves, a series
 * of etcd pushes — shares one warm thread); the first start closes it before the workers start, so
 * their peaks never add up. A cold thread costs ≈0.1 s more per reload than a warm one on this box.
 *
 * @example
 * const thread = new CompileThread({ idleMs: 5000 })
 * const r = await thread.compile(sources, { source: 'file:a.yaml', filterSites: true }, true)
 * thread.release()   // ends it after idleMs without another compile; close() ends it now
 */
import { Worker } from 'node:worker_threads'
import type { CompileResult, SourceText } from '../compiler/index.js'
import type { CompileReply, CompileRequest } from './compile-thread-entry.js'

const ENTRY = new URL('./compile-thread-entry.js', import.meta.url)
/** The thread's young generation: V8 would grow it to 16 MB semi-spaces on a large config's garbage. */
const YOUNG_GENERATION_MB = 4

/** How long an idle compile thread is kept: `SWITCHYARD_COMPILE_THREAD_IDLE_MS`, else this. */
export const DEFAULT_IDLE_MS = 5000

export function compileThreadIdleMs(env: NodeJS.ProcessEnv = process.env): number {
  const set = Number(env.SWITCHYARD_COMPILE_THREAD_IDLE_MS)
  return env.SWITCHYARD_COMPILE_THREAD_IDLE_MS !== undefined && env.SWITCHYARD_COMPILE_THREAD_IDLE_MS !== '' && set >= 0 ? set : DEFAULT_IDLE_MS
}

export class CompileThread {
  private worker: Worker | undefined
  private readonly pending = new Map<number, { resolve: (r: CompileResult) => void; reject: (e: Error) => void }>()
  private nextId = 1
  private exited: Promise<void> | undefined
  private idle: NodeJS.Timeout | undefined
  private readonly idleMs: number

  constructor(opts: { idleMs?: number } = {}) {
    this.idleMs = opts.idleMs ?? 0
  }

  /** Whether a thread is running now (started by a compile, not yet ended). */
  get running(): boolean {
    return this.worker !== undefined
  }

  /**
   * One compile (the thread starts with the first). The environment is this thread's as it is now
   * (`${env:…}` references), not the compile thread's copy from its start. Rejects with what the
   * compile threw, as compileConfig would throw it.
   */
  compile(sources: readonly SourceText[], opts: CompileRequest['opts'], plugins: boolean): Promise<CompileResult> {
    clearTimeout(this.idle)
    const worker = this.thread()
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      worker.postMessage({ id, sources, opts: { env: process.env, ...opts }, plugins } satisfies CompileRequest)
    })
  }

  /** No compile for now: the thread ends after idleMs unless another compile comes first. */
  release(): void {
    clearTimeout(this.idle)
    if (this.worker === undefined) return
    if (this.idleMs === 0) return void this.close()
    this.idle = setTimeout(() => void this.close(), this.idleMs)
    this.idle.unref()
  }

  /** Ends the thread now and resolves once it has exited (its memory is the process's again). */
  async close(): Promise<void> {
    clearTimeout(this.idle)
    const worker = this.worker
    if (worker === undefined) return
    this.worker = undefined
    await worker.terminate()
    await this.exited
  }

  private thread(): Worker {
    if (this.worker) return this.worker
    const worker = new Worker(ENTRY, { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } })
    // An idle thread never keeps the process alive (a compile in progress is awaited by its caller).
    worker.unref()
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()))
    worker.on('message', (reply: CompileReply) => {
      const p = this.pending.get(reply.id)
      if (p === undefined) return
      this.pending.delete(reply.id)
      if ('result' in reply) p.resolve(reply.result)
      else p.reject(Object.assign(new Error(reply.error.message), reply.error.code !== undefined ? { code: reply.error.code } : {}))
    })
    const fail = (e: Error) => {
      for (const p of this.pending.values()) p.reject(e)
      this.pending.clear()
    }
    worker.on('error', (e) => fail(new Error(`the compile thread failed: ${e.message}`)))
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined
      fail(new Error(`the compile thread exited (code ${code})`))
    })
    this.worker = worker
    return worker
  }
}
