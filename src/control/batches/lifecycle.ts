/**
 * How a batch ends. Every host runs the same sweep, and the state changes are compare-and-set, so
 * exactly one host takes each step:
 * - the last line answered (none queued or running): in_progress → finalizing → completed;
 * - the completion window passed: the queued lines are dropped, → finalizing → expired, the
 *   unanswered lines in the error file with code `batch_expired`;
 * - cancelled: `cancelling` (queued lines dropped at once) until the lines that were running had
 *   `ack_wait` to answer, then → finalizing → cancelled (unanswered lines: `batch_cancelled`);
 * - a host that died while finalizing: another takes the step over after FINALIZE_STALE_S.
 * Finalizing builds the output file (2xx answers) and the error file (every other answer, the
 * lines refused at validation with their line number, the unanswered ones) from the stored
 * results, deduplicated by custom_id, in input order; the file ids are derived from the batch id,
 * so a step taken over writes the same files again.
 */
import type { BatchesIR } from '../../compiler/ir.js'
import type { BatchQueue, LineOutcome } from './jetstream.js'
import type { FileStore } from './file-store.js'
import type { MetaStore } from './meta.js'
import { nowSeconds, TERMINAL, type BatchRecord } from './records.js'
import { parseBatchFile } from './jsonl.js'
import { log } from '../../shared/log.js'

const FINALIZE_STALE_S = 60

export class BatchLifecycle {
  private readonly soon = new Map<string, NodeJS.Timeout>()

  constructor(private readonly queue: BatchQueue, private readonly meta: MetaStore, private readonly files: FileStore, private readonly ir: BatchesIR) {}

  /** After a line was answered: finalize shortly if it was the last (coalesced per batch). */
  lineAnswered(id: string): void {
    if (this.soon.has(id)) return
    this.soon.set(id, setTimeout(() => {
      this.soon.delete(id)
      void this.completeIfDone(id).catch((e) => log('warn', 'batch finalize check failed', { batch: id, error: (e as Error).message }))
    }, 100))
  }

  /** One pass over the batches that have not ended. */
  async sweep(): Promise<void> {
    const now = nowSeconds()
    for (const b of await this.meta.activeBatches()) {
      if (TERMINAL.has(b.status)) continue
      try {
        if ((b.status === 'in_progress' || b.status === 'validating') && now >= b.expires_at) await this.expire(b.id)
        else if (b.status === 'in_progress') await this.completeIfDone(b.id)
        else if (b.status === 'cancelling' && now - (b.cancelling_at ?? now) >= Math.ceil(this.ir.ackWaitMs / 1000)) await this.begin(b.id, ['cancelling'], 'cancelled')
        else if (b.status === 'finalizing' && now - (b.finalizing_at ?? now) >= FINALIZE_STALE_S) await this.begin(b.id, ['finalizing'], b.ending ?? 'completed')
      } catch (e) {
        log('warn', 'batch sweep step failed', { batch: b.id, status: b.status, error: (e as Error).message })
      }
    }
  }

  /** Cancel: queued lines are dropped now; the batch ends `cancelled` once running ones had their time. */
  async cancel(id: string): Promise<BatchRecord | undefined> {
    const b = await this.meta.updateBatch(id, (r) => {
      if (r.status !== 'in_progress' && r.status !== 'validating') return false
      r.status = 'cancelling'
      r.cancelling_at = nowSeconds()
      return true
    })
    if (b !== undefined) await this.queue.purgeLines(id)
    return b
  }

  private async completeIfDone(id: string): Promise<void> {
    if ((await this.queue.remaining(id)) > 0) return
    await this.begin(id, ['in_progress'], 'completed')
  }

  private async expire(id: string): Promise<void> {
    const b = await this.meta.batch(id)
    if (b === undefined || (b.status !== 'in_progress' && b.status !== 'validating')) return
    await this.queue.purgeLines(id)
    await this.begin(id, ['in_progress', 'validating'], 'expired')
  }

  /** Takes the batch from one of `from` to finalizing (or fails to: another host has it) and builds its files. */
  private async begin(id: string, from: readonly BatchRecord['status'][], ending: NonNullable<BatchRecord['ending']>): Promise<void> {
    const b = await this.meta.updateBatch(id, (r) => {
      if (!from.includes(r.status)) return false
      r.status = 'finalizing'
      r.finalizing_at = nowSeconds()
      r.ending = ending
      return true
    })
    if (b === undefined) return
    await this.finalize(b, ending)
  }

  private async finalize(b: BatchRecord, ending: NonNullable<BatchRecord['ending']>): Promise<void> {
    const input = await this.files.read(b.input_file_id)
    if (input === undefined) throw new Error(`input file ${b.input_file_id} is not in the file store (is batches.storage.dir shared by the hosts?)`)
    const parsed = parseBatchFile(input.toString('utf8'), b.endpoint, Number.MAX_SAFE_INTEGER)
    if (!parsed.ok) throw new Error(`input file ${b.input_file_id} no longer parses: ${parsed.message}`)
    const results = new Map<string, LineOutcome>()
    for (const r of await this.queue.results(b.id)) if (!results.has(r.custom_id)) results.set(r.custom_id, r)
    const rows: { index: number; ok: boolean; text: string }[] = []
    const missing = ending === 'expired' ? { code: 'batch_expired', message: 'the batch expired before this line was answered' }
      : ending === 'cancelled' ? { code: 'batch_cancelled', message: 'the batch was cancelled before this line was answered' }
      : { code: 'line_missing', message: 'no answer was recorded for this line' }
    for (const l of parsed.lines) {
      const r = results.get(l.customId)
      const id = `batch_req_${b.id.slice(6)}_${l.index}`
      if (r === undefined) {
        rows.push({ index: l.index, ok: false, text: JSON.stringify({ id, custom_id: l.customId, response: null, error: missing }) })
        continue
      }
      const ok = r.status >= 200 && r.status < 300
      const response = r.status === 0 ? null : { status_code: r.status, request_id: r.request_id, body: r.body }
      rows.push({ index: l.index, ok, text: JSON.stringify({ id, custom_id: l.customId, response, error: r.error ?? null }) })
    }
    for (const v of parsed.invalid) {
      rows.push({ index: v.index, ok: false, text: JSON.stringify({ id: `batch_req_${b.id.slice(6)}_${v.index}`, custom_id: v.customId, response: null, error: { code: v.code, message: v.message, line: v.line } }) })
    }
    rows.sort((x, y) => x.index - y.index)
    const ok = rows.filter((r) => r.ok)
    const bad = rows.filter((r) => !r.ok)
    const outputId = ok.length ? await this.writeFile(`file-${b.id}-output`, `${b.id}_output.jsonl`, ok, b) : null
    const errorId = bad.length ? await this.writeFile(`file-${b.id}-errors`, `${b.id}_error.jsonl`, bad, b) : null
    const done = await this.meta.updateBatch(b.id, (r) => {
      if (r.status !== 'finalizing') return false
      const at = nowSeconds()
      r.status = ending
      r.output_file_id = outputId
      r.error_file_id = errorId
      r.request_counts = { total: rows.length, completed: ok.length, failed: bad.length }
      if (ending === 'completed') r.completed_at = at
      else if (ending === 'expired') r.expired_at = at
      else r.cancelled_at = at
      return true
    })
    if (done === undefined) return
    await this.queue.purgeResults(b.id).catch(() => {})
    log('info', 'batch ended', { batch: b.id, status: ending, completed: ok.length, failed: bad.length })
  }

  private async writeFile(id: string, filename: string, rows: readonly { text: string }[], b: BatchRecord): Promise<string> {
    const data = Buffer.from(rows.map((r) => r.text).join('\n') + '\n')
    await this.files.write(id, data)
    await this.meta.putFile({ id, bytes: data.length, created_at: nowSeconds(), filename, purpose: 'batch_output', owner: b.owner })
    return id
  }

  stop(): void {
    for (const t of this.soon.values()) clearTimeout(t)
    this.soon.clear()
  }
}
