/**
 * The batch service of one gateway process (main thread): answers the Batch API the workers relay,
 * runs lines from the shared JetStream queue on the workers, and sweeps batches to their end.
 * Started by the supervisor when the config has a `batches` section; NATS is connected in the
 * background and again after a failure, so a gateway whose NATS is down still serves interactive
 * traffic (the Batch API answers 503 meanwhile).
 *
 * @example
 * const batches = new BatchService(ir.batches, { run: (l) => pool.runLine(l), load: () => inFlight() })
 * pool.batchApi = (r) => batches.handle(r)
 * batches.start()
 * await batches.stop()
 */
import type { BatchesIR } from '../../compiler/ir.js'
import type { BatchApiReply, BatchApiRequest, BatchLine, BatchLineResult } from './messages.js'
import { BatchQueue } from './jetstream.js'
import { MetaStore } from './meta.js'
import { LocalFileStore, type FileStore } from './file-store.js'
import { BatchLifecycle } from './lifecycle.js'
import { BatchApi } from './api.js'
import { Executor } from './executor.js'
import { log } from '../../shared/log.js'

export interface BatchServiceDeps {
  readonly run: (line: BatchLine) => Promise<BatchLineResult>
  /** Requests in flight to this process's clusters (the shared-state counters). */
  readonly load: () => number
  readonly files?: FileStore
}

const RECONNECT_MS = 2000
const SWEEP_MS = 1000

export class BatchService {
  private queue: BatchQueue | undefined
  private meta: MetaStore | undefined
  private lifecycle: BatchLifecycle | undefined
  private executor: Executor | undefined
  private readonly api: BatchApi
  private readonly files: FileStore
  private sweeper: NodeJS.Timeout | undefined
  private connecting: Promise<void> | undefined
  private stopped = false

  constructor(private readonly ir: BatchesIR, private readonly deps: BatchServiceDeps) {
    this.files = deps.files ?? new LocalFileStore(ir.storageDir)
    this.api = new BatchApi({ ir, files: this.files, queue: () => this.queue, meta: () => this.meta, lifecycle: () => this.lifecycle })
  }

  /** Connects (retrying until stop) and starts the executor and the sweep. */
  start(): Promise<void> {
    return (this.connecting ??= this.connect())
  }

  handle(request: BatchApiRequest): Promise<BatchApiReply> {
    return this.api.handle(request)
  }

  private async connect(): Promise<void> {
    while (!this.stopped) {
      try {
        const queue = await BatchQueue.connect(this.ir)
        if (this.stopped) return void (await queue.close())
        this.queue = queue
        this.meta = new MetaStore(queue.meta)
        const lifecycle = (this.lifecycle = new BatchLifecycle(queue, this.meta, this.files, this.ir))
        this.executor = new Executor(this.ir, { queue, meta: this.meta, run: this.deps.run, load: this.deps.load, answered: (id) => lifecycle.lineAnswered(id) })
        this.executor.start()
        this.sweep()
        log('info', 'batch service connected', { stream: this.ir.stream, concurrency: this.ir.concurrency })
        return
      } catch (e) {
        log('warn', 'batch service cannot reach NATS JetStream; retrying', { error: (e as Error).message, retry_ms: RECONNECT_MS })
        await new Promise((r) => setTimeout(r, RECONNECT_MS))
      }
    }
  }

  private sweep(): void {
    if (this.stopped) return
    void this.lifecycle!.sweep()
      .catch((e) => log('warn', 'batch sweep failed', { error: (e as Error).message }))
      .finally(() => {
        if (!this.stopped) this.sweeper = setTimeout(() => this.sweep(), SWEEP_MS)
      })
  }

  /** Stops pulling lines, lets running ones finish and be acked, then closes the connection. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.sweeper)
    await this.executor?.stop()
    this.lifecycle?.stop()
    await this.queue?.close()
  }
}
