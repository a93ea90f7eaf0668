/**
 * Pulls lines from the shared `executors` consumer and runs each on a worker through dispatch
 * (runtime/batches/line-dispatch.ts), at most `concurrency` at once, and none new while the
 * interactive traffic in flight to this process's clusters reaches `yield_to_interactive`. A line
 * is acked only after its answer is stored in the results stream: a host killed before that loses
 * nothing, JetStream hands the line to another executor after `ack_wait` (a running line reports
 * progress every third of it, so a slow answer is not taken for a dead host). A line delivered
 * more than `max_attempts` times is answered with an error instead of run again.
 */
import type { Consumer, JsMsg } from 'nats'
import type { BatchesIR } from '../../compiler/ir.js'
import type { BatchLine, BatchLineResult } from './messages.js'
import type { BatchQueue, LineOutcome, QueuedLine } from './jetstream.js'
import type { MetaStore } from './meta.js'
import { RUNNABLE, type BatchRecord } from './records.js'
import { log } from '../../shared/log.js'

export interface ExecutorDeps {
  readonly queue: BatchQueue
  readonly meta: MetaStore
  readonly run: (line: BatchLine) => Promise<BatchLineResult>
  /** Interactive requests in flight to this process's clusters, batch lines included. */
  readonly load: () => number
  readonly answered: (batch: string) => void
}

/** A batch record is read again after this long, so a cancel reaches every executor quickly. */
const RECORD_TTL_MS = 500
const IDLE_WAIT_MS = 1000
const YIELD_POLL_MS = 50
/** Line results that say this process did not run the line, not that the line failed. */
const NOT_RUN: ReadonlySet<string> = new Set(['worker_exited', 'no_worker'])

export class Executor {
  private running = 0
  /** Lines handed to a worker now (the part of the clusters' load that is ours). */
  private dispatched = 0
  private stopped = false
  private wake: (() => void) | undefined
  private readonly records = new Map<string, { at: number; record: Promise<BatchRecord | undefined> }>()
  private loop: Promise<void> | undefined

  constructor(private readonly ir: BatchesIR, private readonly deps: ExecutorDeps) {}

  start(): void {
    this.loop ??= this.pull()
  }

  get inFlight(): number {
    return this.running
  }

  /** Stops pulling; lines already running finish (and are acked) first. */
  async stop(): Promise<void> {
    this.stopped = true
    this.wake?.()
    await this.loop
    while (this.running > 0) await new Promise<void>((r) => (this.wake = r))
  }

  private async pull(): Promise<void> {
    let consumer: Consumer | undefined
    while (!this.stopped) {
      try {
        consumer ??= await this.deps.queue.executors()
        const free = this.ir.concurrency - this.running
        if (free <= 0 || this.yielding()) {
          await this.waitForSlot(free <= 0 ? undefined : YIELD_POLL_MS)
          continue
        }
        const msgs = await consumer.fetch({ max_messages: free, expires: IDLE_WAIT_MS })
        for await (const m of msgs) {
          if (this.stopped) {
            m.nak()
            continue
          }
          void this.execute(m)
        }
      } catch (e) {
        if (this.stopped) break
        log('warn', 'batch executor cannot pull lines; retrying', { error: (e as Error).message })
        consumer = undefined
        await new Promise((r) => setTimeout(r, IDLE_WAIT_MS))
      }
    }
  }

  /** Lower priority: the lines this executor runs are subtracted, the rest is interactive. */
  private yielding(): boolean {
    const limit = this.ir.yieldToInteractive
    return limit > 0 && this.deps.load() - this.dispatched >= limit
  }

  private waitForSlot(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const t = ms === undefined ? undefined : setTimeout(done, ms)
      const self = this
      function done() {
        if (t !== undefined) clearTimeout(t)
        self.wake = undefined
        resolve()
      }
      this.wake = done
    })
  }

  private async execute(m: JsMsg): Promise<void> {
    this.running++
    const beat = setInterval(() => m.working(), Math.max(100, Math.floor(this.ir.ackWaitMs / 3)))
    try {
      const line = m.json<QueuedLine>()
      const batch = await this.record(line.b)
      // Cancelled, expired or gone: finalizing answers the line, nothing runs it.
      if (batch === undefined || !RUNNABLE.has(batch.status)) {
        m.ack()
        return
      }
      // A fetch may hand over lines just as interactive traffic rises: they wait here (reporting progress).
      while (this.yielding() && !this.stopped) await new Promise((r) => setTimeout(r, YIELD_POLL_MS))
      if (this.stopped) {
        m.nak()
        return
      }
      if (m.info.redeliveryCount > 1) log('info', 'batch line delivered again (the executor that had it died or stalled)', { batch: line.b, line: line.n, delivery: m.info.redeliveryCount })
      let outcome: LineOutcome
      if (m.info.redeliveryCount > this.ir.maxAttempts) {
        outcome = failed(line, 'line_attempts_exhausted', `the line was handed to an executor ${m.info.redeliveryCount - 1} times without an answer (batches.max_attempts)`)
      } else {
        const r = await this.dispatch({ port: batch.port, method: 'POST', path: line.url, body: line.body, requestId: `${line.b}-${line.i}`, identity: batch.identity, timeoutMs: this.ir.lineTimeoutMs })
        // This process could not run it (its worker was being replaced): another delivery will.
        if (r.error !== undefined && NOT_RUN.has(r.error.code)) {
          m.nak(IDLE_WAIT_MS)
          return
        }
        outcome = outcomeOf(line, r)
      }
      await this.deps.queue.publishResult(line.b, outcome)
      await m.ackAck()
      this.deps.answered(line.b)
    } catch (e) {
      // Not stored: the line stays unacked and comes back after ack_wait.
      log('warn', 'batch line not answered; it will be delivered again', { error: (e as Error).message })
    } finally {
      clearInterval(beat)
      this.running--
      this.wake?.()
    }
  }

  private async dispatch(line: BatchLine): Promise<BatchLineResult> {
    this.dispatched++
    try {
      return await this.deps.run(line)
    } finally {
      this.dispatched--
    }
  }

  private record(id: string): Promise<BatchRecord | undefined> {
    const now = Date.now()
    const c = this.records.get(id)
    if (c !== undefined && now - c.at < RECORD_TTL_MS) return c.record
    const record = this.deps.meta.batch(id)
    this.records.set(id, { at: now, record })
    if (this.records.size > 1000) for (const [k, v] of this.records) if (now - v.at >= RECORD_TTL_MS) this.records.delete(k)
    return record
  }
}

function outcomeOf(line: QueuedLine, r: BatchLineResult): LineOutcome {
  if (r.error !== undefined) return failed(line, r.error.code, r.error.message, r.requestId)
  let body: unknown = r.body
  try {
    body = JSON.parse(r.body)
  } catch {}
  return { i: line.i, custom_id: line.custom_id, status: r.status, request_id: r.requestId, body }
}

function failed(line: QueuedLine, code: string, message: string, requestId = `${line.b}-${line.i}`): LineOutcome {
  return { i: line.i, custom_id: line.custom_id, status: 0, request_id: requestId, body: null, error: { code, message } }
}
