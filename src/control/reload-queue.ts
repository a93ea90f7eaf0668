/**
 * Reloads, one compile at a time, newest wins: the changes that arrive while a pass runs collapse
 * into one more pass after it, which reads the source as it is by then. Last good wins
 * (DESIGN invariant 4): a rejected config leaves `current` serving, and the rejection shows in
 * `lastReload` and the log; a config that compiles to the running version changes nothing.
 *
 * @example
 * const reloads = new ReloadQueue(first.ir, { compile: () => compileSource(source), apply: (ir) => publish(ir) })
 * source.watch(() => void reloads.request())
 */
import { formatDiagnostic } from '../compiler/diagnostics.js'
import type { CompileResult } from '../compiler/index.js'
import type { SnapshotIR } from '../compiler/ir.js'
import type { LastReload } from './messages.js'
import { log } from '../shared/log.js'

export interface ReloadQueueOptions {
  /** Compiles the config as its source holds it now. */
  readonly compile: () => Promise<CompileResult>
  /** Puts an accepted snapshot into service; resolves once the workers have it (or waiting gave up). */
  readonly apply: (ir: SnapshotIR) => Promise<void>
}

export class ReloadQueue {
  private good: SnapshotIR
  private goodSince: string
  private last: LastReload | undefined
  private pass: Promise<void> | undefined
  private again = false
  private closed = false
  /** Passes by outcome since start, for /metrics. */
  readonly counts = { applied: 0, unchanged: 0, rejected: 0 }

  constructor(first: SnapshotIR, private readonly opts: ReloadQueueOptions) {
    this.good = first
    this.goodSince = new Date().toISOString()
  }

  /** The snapshot in service: the newest config that compiled. */
  get current(): SnapshotIR {
    return this.good
  }
  /** When `current` was accepted. */
  get loadedAt(): string {
    return this.goodSince
  }
  /** The outcome of the latest pass; undefined before the first reload. */
  get lastReload(): LastReload | undefined {
    return this.last
  }

  /** Asks for a reload; resolves when the pass that covers this request has ended. */
  request(): Promise<void> {
    if (this.closed) return Promise.resolve()
    if (this.pass) {
      this.again = true
      return this.pass
    }
    this.pass = this.run().finally(() => (this.pass = undefined))
    return this.pass
  }

  /** Shutdown: further requests are ignored (a pass already running ends as it would). */
  close(): void {
    this.closed = true
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false
        await this.reloadOnce()
      } while (this.again)
    } catch (e) {
      log('error', 'reload failed', { error: (e as Error).message })
    }
  }

  private async reloadOnce(): Promise<void> {
    const r = await this.opts.compile()
    const at = new Date().toISOString()
    if (!r.ok) {
      const errors = r.diagnostics.map(formatDiagnostic)
      this.last = { at, ok: false, errors }
      this.counts.rejected++
      log('error', `config rejected; still serving version ${this.good.version}`, { errors: errors.length })
      for (const e of errors) log('error', e)
      return
    }
    this.last = { at, ok: true, version: r.ir.version }
    if (r.ir.version === this.good.version) {
      this.counts.unchanged++
      return
    }
    this.counts.applied++
    for (const w of r.ir.warnings) log('warn', w)
    this.good = r.ir
    this.goodSince = at
    await this.opts.apply(r.ir)
    log('info', 'config applied', { version: r.ir.version })
  }
}
