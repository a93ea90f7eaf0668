/**
 * The batch service's JetStream objects, created when missing:
 * - `<stream>_LINES`: work-queue retention, one message per line on `<stream>.lines.<batch>`; the
 *   durable pull consumer `executors` with explicit acks shares them among every gateway host, and
 *   a line whose executor died (no ack, no progress within `ack_wait`) is delivered again.
 * - `<stream>_RESULTS`: each answered line on `<stream>.results.<batch>.ok|err`, published before
 *   the line is acked, with `Nats-Msg-Id <batch>.<index>` so a line answered twice inside the
 *   duplicate window is stored once (the output is deduplicated by custom_id besides).
 * - `<stream>_META`: the key-value bucket of file and batch records (`file.<id>`, `batch.<id>`),
 *   updated with compare-and-set, so it survives restarts and any host reads the same state.
 */
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, connect, nanos, type Consumer, type JetStreamClient, type JetStreamManager, type KV, type NatsConnection } from 'nats'
import type { BatchesIR } from '../../compiler/ir.js'

/** A line as queued: everything an executor needs besides its batch record. */
export interface QueuedLine {
  /** Batch id. */
  readonly b: string
  /** Position among the file's lines (0-based), the output's order. */
  readonly i: number
  /** 1-based line number in the input file. */
  readonly n: number
  readonly custom_id: string
  readonly url: string
  readonly body: string
}

/** One answered line as stored in the results stream. */
export interface LineOutcome {
  readonly i: number
  readonly custom_id: string
  /** The answer's status (0 when there was none: see error). */
  readonly status: number
  readonly request_id: string
  readonly body: unknown
  readonly error?: { readonly code: string; readonly message: string }
}

const DUPLICATE_WINDOW_MS = 30 * 60_000
/** Results are purged when a batch ends; a late answer (a line still running then) ages out after this. */
const RESULTS_KEPT_MS = 24 * 3_600_000
export const EXECUTORS = 'executors'

export class BatchQueue {
  private constructor(
    readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly meta: KV,
    private readonly names: { lines: string; results: string; subject: string },
  ) {}

  static async connect(ir: BatchesIR): Promise<BatchQueue> {
    const nc = await connect({ servers: [...ir.servers], timeout: ir.connectTimeoutMs, maxReconnectAttempts: -1, reconnectTimeWait: 500, name: 'switchyard-batches' })
    try {
      const jsm = await nc.jetstreamManager({ timeout: ir.connectTimeoutMs })
      const js = nc.jetstream({ timeout: ir.connectTimeoutMs })
      const names = { lines: `${ir.stream}_LINES`, results: `${ir.stream}_RESULTS`, subject: ir.stream }
      await ensureStream(jsm, { name: names.lines, subjects: [`${ir.stream}.lines.>`], retention: RetentionPolicy.Workqueue, storage: StorageType.File, num_replicas: ir.replicas, duplicate_window: nanos(DUPLICATE_WINDOW_MS) })
      await ensureStream(jsm, { name: names.results, subjects: [`${ir.stream}.results.>`], retention: RetentionPolicy.Limits, storage: StorageType.File, num_replicas: ir.replicas, duplicate_window: nanos(DUPLICATE_WINDOW_MS), max_age: nanos(ir.maxCompletionWindowMs + RESULTS_KEPT_MS) })
      const consumer = { durable_name: EXECUTORS, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: nanos(ir.ackWaitMs), max_deliver: -1, max_ack_pending: -1 }
      try {
        await jsm.consumers.info(names.lines, EXECUTORS)
        await jsm.consumers.update(names.lines, EXECUTORS, { ack_wait: consumer.ack_wait })
      } catch (e) {
        if (!isNotFound(e)) throw e
        await jsm.consumers.add(names.lines, consumer)
      }
      const meta = await js.views.kv(`${ir.stream}_META`, { history: 1, replicas: ir.replicas })
      return new BatchQueue(nc, js, jsm, meta, names)
    } catch (e) {
      await nc.close().catch(() => {})
      throw e
    }
  }

  /** The shared consumer the executors pull lines from. */
  executors(): Promise<Consumer> {
    return this.js.consumers.get(this.names.lines, EXECUTORS)
  }

  async publishLine(line: QueuedLine): Promise<void> {
    await this.js.publish(`${this.names.subject}.lines.${line.b}`, JSON.stringify(line), { msgID: `${line.b}.${line.i}` })
  }

  async publishResult(batch: string, outcome: LineOutcome): Promise<void> {
    const kind = outcome.status >= 200 && outcome.status < 300 ? 'ok' : 'err'
    await this.js.publish(`${this.names.subject}.results.${batch}.${kind}`, JSON.stringify(outcome), { msgID: `${batch}.${outcome.i}` })
  }

  /** Lines of the batch still queued or running (a work queue deletes a line when it is acked). */
  async remaining(batch: string): Promise<number> {
    const subject = `${this.names.subject}.lines.${batch}`
    const info = await this.jsm.streams.info(this.names.lines, { subjects_filter: subject })
    return info.state.subjects?.[subject] ?? 0
  }

  /** Results stored so far, successes and failures (a line answered twice may count twice until the output is built). */
  async answered(batch: string): Promise<{ ok: number; err: number }> {
    const base = `${this.names.subject}.results.${batch}`
    const info = await this.jsm.streams.info(this.names.results, { subjects_filter: `${base}.*` })
    return { ok: info.state.subjects?.[`${base}.ok`] ?? 0, err: info.state.subjects?.[`${base}.err`] ?? 0 }
  }

  /** Every stored result of the batch, in the order they were stored. */
  async results(batch: string): Promise<LineOutcome[]> {
    const { ok, err } = await this.answered(batch)
    const total = ok + err
    const out: LineOutcome[] = []
    if (total === 0) return out
    const consumer = await this.js.consumers.get(this.names.results, { filterSubjects: `${this.names.subject}.results.${batch}.*` })
    while (out.length < total) {
      const msgs = await consumer.fetch({ max_messages: Math.min(total - out.length, 1000), expires: 2000 })
      let got = 0
      for await (const m of msgs) {
        out.push(m.json<LineOutcome>())
        got++
        if (m.info.pending === 0) break
      }
      if (got === 0) break
    }
    await consumer.delete().catch(() => {})
    return out
  }

  /** Drops the queued lines of a batch (cancel, expiry): no executor gets them any more. */
  async purgeLines(batch: string): Promise<void> {
    await this.jsm.streams.purge(this.names.lines, { filter: `${this.names.subject}.lines.${batch}` })
  }

  /** Drops the stored results once the output and error files hold them. */
  async purgeResults(batch: string): Promise<void> {
    await this.jsm.streams.purge(this.names.results, { filter: `${this.names.subject}.results.${batch}.>` })
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close())
  }
}

async function ensureStream(jsm: JetStreamManager, config: Parameters<JetStreamManager['streams']['add']>[0] & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name)
  } catch (e) {
    if (!isNotFound(e)) throw e
    await jsm.streams.add(config)
  }
}

function isNotFound(e: unknown): boolean {
  return /not found/i.test((e as Error)?.message ?? '')
}
