/**
 * Runs config checks (config-check.ts) in a thread of their own, one at a time, so that compiling
 * a pasted config — over a second for a megabyte of keys — never stalls the main thread, which
 * serves the admin API and runs health checks and reloads. The thread starts on the first check,
 * is given a memory cap and a time limit (past either it is terminated and the check fails, the
 * gateway unaffected), and exits after a while without checks.
 */
import { Worker } from 'node:worker_threads'
import type { CheckAnswer } from './config-check.js'
import type { CheckReply, CheckRequest } from './config-check-thread.js'

export type CheckOutcome =
  | { readonly kind: 'answer'; readonly answer: CheckAnswer }
  /** More checks are waiting than `maxQueued`. */
  | { readonly kind: 'busy' }
  /** The build threw, the thread ran out of time or memory, or it died. */
  | { readonly kind: 'failed'; readonly error: string }

export interface CheckerOptions {
  readonly timeoutMs?: number
  readonly maxQueued?: number
  readonly idleMs?: number
  readonly maxMemoryMb?: number
}

const THREAD = new URL('./config-check-thread.js', import.meta.url)

interface Job { readonly request: CheckRequest; readonly resolve: (o: CheckOutcome) => void }

export class ConfigChecker {
  private worker: Worker | undefined
  private running: { job: Job; timer: NodeJS.Timeout } | undefined
  private readonly queue: Job[] = []
  private idle: NodeJS.Timeout | undefined
  private nextId = 1
  private readonly timeoutMs: number
  private readonly maxQueued: number
  private readonly idleMs: number
  private readonly maxMemoryMb: number

  constructor(opts: CheckerOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 20_000
    this.maxQueued = opts.maxQueued ?? 4
    this.idleMs = opts.idleMs ?? 30_000
    this.maxMemoryMb = opts.maxMemoryMb ?? 512
  }

  check(name: string, text: string): Promise<CheckOutcome> {
    if (this.queue.length >= this.maxQueued) return Promise.resolve({ kind: 'busy' })
    return new Promise((resolve) => {
      this.queue.push({ request: { id: this.nextId++, name, text }, resolve })
      this.next()
    })
  }

  close(): void {
    clearTimeout(this.idle)
    for (const job of this.queue.splice(0)) job.resolve({ kind: 'failed', error: 'the admin API is closing' })
    this.stop('the admin API is closing')
    clearTimeout(this.idle)
  }

  private next(): void {
    if (this.running || this.queue.length === 0) return
    clearTimeout(this.idle)
    const job = this.queue.shift()!
    const worker = this.thread()
    const timer = setTimeout(() => this.stop(`the check took longer than ${this.timeoutMs} ms and was stopped`), this.timeoutMs)
    this.running = { job, timer }
    worker.postMessage(job.request)
  }

  private thread(): Worker {
    if (this.worker) return this.worker
    const worker = new Worker(THREAD, { resourceLimits: { maxOldGenerationSizeMb: this.maxMemoryMb } })
    worker.unref()
    worker.on('message', (reply: CheckReply) => {
      const r = this.running
      if (!r || r.job.request.id !== reply.id) return
      this.finish('answer' in reply ? { kind: 'answer', answer: reply.answer } : { kind: 'failed', error: `the config compiled but did not build: ${reply.error}` })
    })
    worker.on('error', (e) => this.lost(worker, (e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' ? `the check ran out of memory (${this.maxMemoryMb} MB) and was stopped` : `the check failed: ${e.message}`))
    worker.on('exit', () => this.lost(worker, 'the checker thread exited'))
    this.worker = worker
    return worker
  }

  private finish(outcome: CheckOutcome): void {
    const r = this.running!
    clearTimeout(r.timer)
    this.running = undefined
    r.job.resolve(outcome)
    if (this.queue.length > 0) return this.next()
    this.idle = setTimeout(() => this.stop(), this.idleMs)
    this.idle.unref()
  }

  /** Terminates the thread; a check it was running fails with `error`. */
  private stop(error = 'the checker thread stopped'): void {
    const worker = this.worker
    if (!worker) return
    this.lost(worker, error)
    void worker.terminate()
  }

  private lost(worker: Worker, error: string): void {
    if (this.worker !== worker) return
    this.worker = undefined
    if (this.running) this.finish({ kind: 'failed', error })
  }
}
