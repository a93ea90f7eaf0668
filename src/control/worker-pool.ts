/**
 * The worker threads of one process: spawns them, replaces one that exits (until the pool is
 * retired for shutdown), sends every worker the current snapshot — a replacement starts on the
 * newest one — and keeps what each reports as its WorkerStatus. Callers wait on those reports:
 * every worker on a version, every worker drained.
 *
 * @example
 * const pool = new WorkerPool({ size: 2, shared: table.buffer })
 * pool.start(ir, slots)
 * if (!(await pool.whenAllOn(ir.version, 10_000))) console.error(pool.behind(ir.version))
 * await pool.drain(30_000)
 * await pool.terminate()
 */
import { randomUUID } from 'node:crypto'
import { MessageChannel, Worker } from 'node:worker_threads'
import type { SnapshotIR } from '../compiler/ir.js'
import type { CachePurge, FromWorker, SnapshotMessage, ToWorker, WorkerStatus } from './messages.js'
import type { FilterProblem } from '../compiler/index.js'
import type { WorkerMetricsReport } from '../runtime/telemetry/request-metrics.js'
import type { ProfileRequest, ProfileResult } from '../runtime/profiler.js'
import type { BatchApiReply, BatchApiRequest, BatchLine, BatchLineResult } from './batches/messages.js'
import { log } from '../shared/log.js'
import { errorReply } from '../runtime/errors.js'
import { workerOptions, workersStarting } from './worker-options.js'
import { CacheBuffers } from './cache-buffers.js'

const WORKER_ENTRY = new URL('../runtime/worker.js', import.meta.url)

export interface WorkerPoolOptions {
  /** Worker threads to keep running. */
  readonly size: number
  /** The cross-worker counters (shared-state.ts), handed to every worker at spawn. */
  readonly shared: SharedArrayBuffer
  /** The `scope: local` limit buckets (LimitTable.createBuffer), handed to every worker at spawn. */
  readonly limits?: SharedArrayBuffer
  /** The worker entry; tests pass a small stand-in that speaks the same messages. */
  readonly script?: URL
  /** The session memory stores: each worker gets a port to them (src/shared/session-memory.ts). */
  readonly sessions?: import('../shared/session-memory.js').SessionMemoryHost
}

interface Member {
  readonly worker: Worker
  readonly status: WorkerStatus
}

export class WorkerPool {
  private readonly members = new Map<number, Member>()
  /** Called after every report and every exit; each re-checks its own condition. */
  private readonly waiters = new Set<() => void>()
  /** Pending clusters / metrics / cache queries by id: each reply goes to its query's collector. */
  private readonly queries = new Map<number, (worker: number, data: unknown) => void>()
  private queryId = 0
  private latest: SnapshotMessage | undefined
  private retired = false
  /** Batch lines running on a worker, by id: a worker that exits answers its own with an error. */
  private readonly lines = new Map<number, { worker: number; line: BatchLine; resolve: (r: BatchLineResult) => void }>()
  private lineCursor = 0
  /** Answers the Batch API requests the workers relay (control/batches/api.ts); unset: 503. */
  batchApi: ((request: BatchApiRequest) => Promise<BatchApiReply>) | undefined

  /** Names this pool's sibling channels (WorkerData.group): two pools in one process never hear each other. */
  private readonly group = randomUUID()

  /** The response caches' memory tiers every worker shares, by size. */
  private readonly cacheBuffers = new CacheBuffers()

  constructor(private readonly opts: WorkerPoolOptions) {}

  /** Spawns the workers, each told to serve `ir`. */
  start(ir: SnapshotIR, slots: Record<string, number>): void {
    this.latest = { type: 'snapshot', ir, slots, caches: this.cacheBuffers.for(ir) }
    for (let i = 0; i < this.opts.size; i++) this.spawn()
  }

  /** Sends every worker a new snapshot; a worker spawned from now on starts on it. */
  publish(ir: SnapshotIR, slots: Record<string, number>): void {
    this.latest = { type: 'snapshot', ir, slots, caches: this.cacheBuffers.for(ir) }
    this.post(this.latest)
  }

  /** The workers running now, in spawn order. */
  get statuses(): WorkerStatus[] {
    return [...this.members.values()].map((m) => m.status)
  }

  /** Resolves true once every worker serves `version` or has reported an error, false after `ms`. */
  whenAllOn(version: string, ms: number): Promise<boolean> {
    return this.waitFor(() => this.statuses.every((w) => w.version === version || w.error !== undefined), ms)
  }

  /** The workers not serving `version`: failed, or not there yet. */
  behind(version: string): WorkerStatus[] {
    return this.statuses.filter((w) => w.error || w.version !== version)
  }

  /** Each worker's view of its clusters (eligibility, balancer state, connections), by worker id; a worker that does not answer within `ms` is left out. */
  queryClusters(ms = 1000): Promise<Map<number, Record<string, unknown>>> {
    return this.ask({ type: 'clusters' }, ms) as Promise<Map<number, Record<string, unknown>>>
  }

  /** Each worker's metric series (telemetry/request-metrics.ts), by worker id; a worker that does not answer within `ms` is left out. */
  queryMetrics(ms = 1000): Promise<Map<number, WorkerMetricsReport>> {
    return this.ask({ type: 'metrics' }, ms) as Promise<Map<number, WorkerMetricsReport>>
  }

  /**
   * One worker's CPU profile or heap snapshot (runtime/profiler.ts); `worker` undefined: the first.
   * Resolves with an error result when there is no such worker or it does not answer within `ms`.
   */
  profile(worker: number | undefined, request: ProfileRequest, ms: number): Promise<ProfileResult & { worker?: number }> {
    const member = worker === undefined ? this.members.values().next().value : this.members.get(worker)
    if (member === undefined) return Promise.resolve({ ok: false, error: `no worker ${worker ?? ''} (workers: ${[...this.members.keys()].join(', ') || 'none'})`.replace('  ', ' ') })
    return this.askOne(member, (id) => ({ type: 'profile', id, ...request }), ms, { late: 'did not answer', exited: 'exited before answering' }).then(
      (data) => ({ ...(data as ProfileResult), worker: member.status.id }),
      (e: Error) => ({ ok: false as const, error: e.message }),
    )
  }

  /**
   * A reload's dry build, run by one worker (the main thread does not load the runtime): every
   * filter factory once on its config, then the snapshot built and released, nothing served from
   * it. Resolves with the filters' objections; rejects with what else the build threw, or when no
   * worker answers within `ms` (the reload is then rejected, never applied unchecked).
   */
  dryBuild(ir: SnapshotIR, ms: number): Promise<readonly FilterProblem[]> {
    const member = [...this.members.values()].find((m) => m.status.error === undefined) ?? this.members.values().next().value
    if (member === undefined) return Promise.reject(new Error('no worker thread is running to build the new config'))
    return this.askOne(member, (id) => ({ type: 'dry-build', id, ir }), ms, { late: 'did not build the new config', exited: 'exited while building the new config' }).then((data) => {
      const r = data as { problems: readonly FilterProblem[]; error?: string }
      if (r.error !== undefined) throw new Error(r.error)
      return r.problems
    })
  }

  /**
   * One worker's reply to `message` (made with a fresh query id). Rejects with `worker <id> <late>
   * within <ms> ms` when it does not answer in time, `worker <id> <exited>` when it exits first.
   */
  private askOne(member: Member, message: (id: number) => ToWorker, ms: number, says: { late: string; exited: string }): Promise<unknown> {
    const id = ++this.queryId
    const worker = member.status.id
    return new Promise((resolve, reject) => {
      const settle = (err: Error | undefined, data?: unknown) => {
        clearTimeout(t)
        this.queries.delete(id)
        this.waiters.delete(onExit)
        if (err) reject(err)
        else resolve(data)
      }
      const t = setTimeout(() => settle(new Error(`worker ${worker} ${says.late} within ${ms} ms`)), ms)
      const onExit = () => {
        if (!this.members.has(worker)) settle(new Error(`worker ${worker} ${says.exited}`))
      }
      this.waiters.add(onExit)
      this.queries.set(id, (_worker, data) => settle(undefined, data))
      member.worker.postMessage(message(id))
    })
  }

  /** Posts a query to every worker and collects the replies that arrive within `ms`. */
  private async ask(query: { type: 'clusters' | 'metrics' } | { type: 'cache'; purge?: CachePurge }, ms: number): Promise<Map<number, unknown>> {
    const id = ++this.queryId
    const replies = new Map<number, unknown>()
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms)
      let left = this.members.size
      const queries = this.queries
      function done() {
        clearTimeout(t)
        queries.delete(id)
        resolve()
      }
      queries.set(id, (worker, data) => {
        replies.set(worker, data)
        if (--left === 0) done()
      })
      this.post({ ...query, id })
      if (left === 0) done()
    })
    return replies
  }

  /** Each worker's response caches (after removing `purge`'s entries), by worker id; a worker that does not answer within `ms` is left out. */
  queryCache(purge?: CachePurge, ms = 1000): Promise<Map<number, Record<string, unknown>>> {
    return this.ask({ type: 'cache', ...(purge && { purge }) }, ms) as Promise<Map<number, Record<string, unknown>>>
  }

  /** Runs one batch line on the next worker (round robin) through its dispatch. */
  runLine(line: BatchLine): Promise<BatchLineResult> {
    const members = [...this.members.values()]
    if (members.length === 0) return Promise.resolve(lineFailed(line, 'no_worker', 'no worker thread is running'))
    const member = members[this.lineCursor++ % members.length]
    const id = ++this.queryId
    return new Promise((resolve) => {
      this.lines.set(id, { worker: member.status.id, line, resolve })
      member.worker.postMessage({ type: 'batch-line', id, ...line } satisfies ToWorker)
    })
  }

  private answerBatchApi(worker: Worker, id: number, request: BatchApiRequest): void {
    const handler = this.batchApi
    const reply = handler === undefined ? Promise.resolve(BATCHES_OFF) : handler(request).catch((): BatchApiReply => BATCHES_OFF)
    void reply.then((r) => worker.postMessage({ type: 'batch-api-reply', id, ...r } satisfies ToWorker))
  }

  /** From now on a worker that exits is not replaced: shutdown has begun. */
  retire(): void {
    this.retired = true
  }

  /**
   * Asks every worker to stop accepting and finish what it serves; after `timeoutMs` the rest is
   * cut (connections destroyed) and the workers get two more seconds to report.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.retire()
    this.post({ type: 'drain' })
    const allDrained = () => this.statuses.every((w) => w.drained)
    if (!(await this.waitFor(allDrained, timeoutMs))) {
      log('warn', 'drain timeout reached; closing connections with requests still in flight')
      this.post({ type: 'destroy' })
      await this.waitFor(allDrained, 2000)
    }
  }

  /** Ends every worker thread now. */
  async terminate(): Promise<void> {
    this.retire()
    await Promise.all([...this.members.values()].map((m) => m.worker.terminate()))
  }

  private post(m: ToWorker): void {
    for (const { worker } of this.members.values()) worker.postMessage(m)
  }

  private spawn(): void {
    // Isolate limits and WorkerData: worker-options.ts.
    workersStarting()
    const channel = this.opts.sessions !== undefined ? new MessageChannel() : undefined
    if (channel !== undefined) this.opts.sessions!.serve(channel.port1)
    const worker = new Worker(this.opts.script ?? WORKER_ENTRY, workerOptions({ shared: this.opts.shared, workers: this.opts.size, group: this.group, ...(this.opts.limits && { limits: this.opts.limits }), ...(channel && { sessions: channel.port2 }) }))
    const status: WorkerStatus = { id: worker.threadId, uws: 'unknown', version: undefined, ports: [], error: undefined }
    this.members.set(status.id, { worker, status })
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'batch-api') return this.answerBatchApi(worker, m.id, m.request)
      this.record(status, m)
      this.notify()
    })
    worker.on('error', (e) => log('error', 'worker crashed', { worker: status.id, error: e.message }))
    worker.on('exit', (code) => {
      channel?.port1.close()
      this.members.delete(status.id)
      for (const [id, l] of this.lines) {
        if (l.worker !== status.id) continue
        this.lines.delete(id)
        l.resolve(lineFailed(l.line, 'worker_exited', 'the worker thread running the line exited'))
      }
      this.notify()
      if (this.retired) return
      log('error', 'worker exited; starting a replacement', { worker: status.id, code })
      this.spawn()
    })
    worker.postMessage(this.latest!)
  }

  private record(status: WorkerStatus, m: FromWorker): void {
    switch (m.type) {
      case 'started':
        status.uws = m.uws
        return
      case 'applied':
        status.version = m.version
        status.ports = m.ports
        status.error = m.failed.length ? m.failed.map((f) => f.error).join('; ') : undefined
        delete status.problems
        for (const f of m.failed) log('error', 'listener failed', { worker: m.worker, port: f.port, error: f.error })
        return
      case 'apply-failed':
        status.error = m.error
        if (m.problems !== undefined) status.problems = m.problems
        return
      case 'dry-build':
        this.queries.get(m.id)?.(m.worker, m)
        return
      case 'clusters':
      case 'metrics':
      case 'cache':
        this.queries.get(m.id)?.(m.worker, m.data)
        return
      case 'profile':
        this.queries.get(m.id)?.(m.worker, m)
        return
      case 'drained':
        status.drained = true
        return
      case 'batch-line': {
        const l = this.lines.get(m.id)
        if (l === undefined) return
        this.lines.delete(m.id)
        l.resolve({ status: m.status, requestId: m.requestId, body: m.body, ...(m.error && { error: m.error }) })
        return
      }
    }
  }

  private notify(): void {
    for (const w of [...this.waiters]) w()
  }

  private waitFor(cond: () => boolean, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      if (cond()) return resolve(true)
      const check = () => {
        if (!cond()) return
        clearTimeout(t)
        this.waiters.delete(check)
        resolve(true)
      }
      const t = setTimeout(() => {
        this.waiters.delete(check)
        resolve(cond())
      }, ms)
      this.waiters.add(check)
    })
  }
}

function lineFailed(line: BatchLine, code: string, message: string): BatchLineResult {
  return { status: 0, requestId: line.requestId, body: '', error: { code, message } }
}

const BATCHES_OFF: BatchApiReply = errorReply('openai', 'SY_BATCHES_UNAVAILABLE', 'the batch service is not running in this process (add a batches section and restart)')
