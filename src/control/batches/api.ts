/**
 * The Batch API as the official `openai` SDK calls it, answered on the main thread for the
 * requests the workers relay (runtime/batches/api-relay.ts): files (`POST /v1/files` multipart with
 * `purpose: batch`, list, retrieve, delete, `/content`) and batches (create, list, retrieve,
 * cancel). Records belong to the caller's tenant: another tenant's id is not found. Every refusal
 * is an OpenAI error from the catalog (runtime/errors.ts).
 */
import { randomBytes } from 'node:crypto'
import type { BatchesIR } from '../../compiler/ir.js'
import type { BatchApiReply, BatchApiRequest } from './messages.js'
import type { BatchQueue } from './jetstream.js'
import type { MetaStore } from './meta.js'
import type { FileStore } from './file-store.js'
import type { BatchLifecycle } from './lifecycle.js'
import { errorReply, type RuntimeErrorCode } from '../../runtime/errors.js'
import { BATCH_ENDPOINTS, parseBatchFile } from './jsonl.js'
import { nowSeconds, ownerOf, publicBatch, publicFile, type BatchRecord, type FileRecord } from './records.js'
import { durationMs } from '../../shared/units.js'
import { log } from '../../shared/log.js'

export interface BatchApiDeps {
  readonly ir: BatchesIR
  /** undefined while NATS has not been reached yet. */
  readonly queue: () => BatchQueue | undefined
  readonly meta: () => MetaStore | undefined
  readonly lifecycle: () => BatchLifecycle | undefined
  readonly files: FileStore
}

const JSON_HEADERS = [['content-type', 'application/json']] as const
const ID = /^[A-Za-z0-9_-]{1,80}$/
const PUBLISH_AT_ONCE = 256

export class BatchApi {
  constructor(private readonly deps: BatchApiDeps) {}

  async handle(req: BatchApiRequest): Promise<BatchApiReply> {
    const meta = this.deps.meta()
    if (meta === undefined) return fail('SY_BATCHES_UNAVAILABLE', 'the batch queue (NATS JetStream) is not reachable yet; try again shortly')
    try {
      return await this.route(req, meta)
    } catch (e) {
      log('warn', 'batch API request failed', { method: req.method, path: req.path, error: (e as Error).message })
      return fail('SY_BATCHES_UNAVAILABLE', 'the batch queue (NATS JetStream) did not answer; try again shortly')
    }
  }

  private route(req: BatchApiRequest, meta: MetaStore): Promise<BatchApiReply> | BatchApiReply {
    const parts = req.path.split('/').slice(2) // ['files' | 'batches', id?, action?]
    const [kind, id, action] = parts
    const owner = ownerOf(req.identity)
    if (id !== undefined && !ID.test(id)) return fail(kind === 'files' ? 'SY_FILE_NOT_FOUND' : 'SY_BATCH_NOT_FOUND', `no ${kind === 'files' ? 'file' : 'batch'} '${id.slice(0, 80)}'`)
    const m = req.method
    if (kind === 'files') {
      if (id === undefined && m === 'POST') return this.upload(req, meta, owner)
      if (id === undefined && m === 'GET') return this.listFiles(req, meta, owner)
      if (id !== undefined && action === undefined && m === 'GET') return this.withFile(meta, id, owner, (f) => json(200, publicFile(f)))
      if (id !== undefined && action === undefined && m === 'DELETE') return this.withFile(meta, id, owner, (f) => this.deleteFile(meta, f))
      if (id !== undefined && action === 'content' && parts.length === 3 && m === 'GET') return this.withFile(meta, id, owner, (f) => this.content(f))
    } else {
      if (id === undefined && m === 'POST') return this.create(req, meta, owner)
      if (id === undefined && m === 'GET') return this.listBatches(req, meta, owner)
      if (id !== undefined && action === undefined && m === 'GET') return this.withBatch(meta, id, owner, (b) => this.describe(b))
      if (id !== undefined && action === 'cancel' && parts.length === 3 && m === 'POST') return this.withBatch(meta, id, owner, (b) => this.cancel(b))
    }
    return fail('SY_NO_ROUTE', `no Batch API operation ${m} ${req.path}`)
  }

  // ---------------------------------------------------------------- files

  private async upload(req: BatchApiRequest, meta: MetaStore, owner: string | undefined): Promise<BatchApiReply> {
    if (!req.contentType?.toLowerCase().startsWith('multipart/form-data')) return fail('SY_BATCH_INVALID', 'POST /v1/files takes multipart/form-data with `file` and `purpose`', 'file')
    let form: FormData
    try {
      form = await new Response((req.body ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>, { headers: { 'content-type': req.contentType } }).formData()
    } catch {
      return fail('SY_BATCH_INVALID', 'the multipart body cannot be read', 'file')
    }
    const purpose = form.get('purpose')
    if (purpose !== 'batch') return fail('SY_BATCH_INVALID', `purpose must be 'batch' (the only purpose this gateway stores files for), got ${JSON.stringify(purpose)}`, 'purpose')
    const file = form.get('file')
    if (file === null || typeof file === 'string') return fail('SY_BATCH_INVALID', 'missing the `file` part', 'file')
    if (file.size > this.deps.ir.maxFileBytes) return fail('SY_FILE_TOO_LARGE', `the file is ${file.size} bytes; batches.max_file_size allows ${this.deps.ir.maxFileBytes}`, 'file')
    if (file.size === 0) return fail('SY_BATCH_INVALID', 'the file is empty', 'file')
    const record: FileRecord = { id: `file-${randomBytes(12).toString('hex')}`, bytes: file.size, created_at: nowSeconds(), filename: file.name || 'upload.jsonl', purpose, owner }
    await this.deps.files.write(record.id, new Uint8Array(await file.arrayBuffer()))
    await meta.putFile(record)
    return json(200, publicFile(record))
  }

  private async listFiles(req: BatchApiRequest, meta: MetaStore, owner: string | undefined): Promise<BatchApiReply> {
    const purpose = new URLSearchParams(req.query).get('purpose')
    const files = (await meta.files()).filter((f) => f.owner === owner && (purpose === null || f.purpose === purpose))
    return json(200, page(files.sort((a, b) => b.created_at - a.created_at || cmp(b.id, a.id)).map(publicFile), req.query, 10_000))
  }

  private async withFile(meta: MetaStore, id: string, owner: string | undefined, then: (f: FileRecord) => Promise<BatchApiReply> | BatchApiReply): Promise<BatchApiReply> {
    const f = await meta.file(id)
    if (f === undefined || f.owner !== owner) return fail('SY_FILE_NOT_FOUND', `no file '${id}'`, 'file_id')
    return then(f)
  }

  private async deleteFile(meta: MetaStore, f: FileRecord): Promise<BatchApiReply> {
    await meta.deleteFile(f.id)
    await this.deps.files.remove(f.id)
    return json(200, { id: f.id, object: 'file', deleted: true })
  }

  private async content(f: FileRecord): Promise<BatchApiReply> {
    const data = await this.deps.files.read(f.id)
    if (data === undefined) return fail('SY_FILE_NOT_FOUND', `file '${f.id}' is recorded but its content is not in this host's storage (batches.storage.dir)`, 'file_id')
    return { status: 200, headers: [['content-type', 'application/octet-stream']], body: data }
  }

  // ---------------------------------------------------------------- batches

  private async create(req: BatchApiRequest, meta: MetaStore, owner: string | undefined): Promise<BatchApiReply> {
    const queue = this.deps.queue()!
    let p: Record<string, unknown>
    try {
      p = JSON.parse(Buffer.from(req.body ?? new Uint8Array(0)).toString('utf8'))
    } catch {
      return fail('SY_BAD_JSON', 'the request body is not valid JSON')
    }
    if (typeof p !== 'object' || p === null) return fail('SY_BATCH_INVALID', 'the request body must be a JSON object')
    const { input_file_id: fileId, endpoint, completion_window: window, metadata } = p
    if (typeof fileId !== 'string' || !ID.test(fileId)) return fail('SY_BATCH_INVALID', 'input_file_id must be the id of an uploaded file', 'input_file_id')
    if (typeof endpoint !== 'string' || !BATCH_ENDPOINTS.includes(endpoint)) return fail('SY_BATCH_INVALID', `endpoint must be one of ${BATCH_ENDPOINTS.join(', ')}`, 'endpoint')
    const windowMs = typeof window === 'string' && /^[0-9]+(\.[0-9]+)?(ms|s|m|h)$/.test(window) ? durationMs(window) : NaN
    if (!(windowMs > 0)) return fail('SY_BATCH_INVALID', `completion_window must be a duration such as "24h", got ${JSON.stringify(window ?? null)}`, 'completion_window')
    if (windowMs > this.deps.ir.maxCompletionWindowMs) return fail('SY_BATCH_INVALID', `completion_window ${window} is longer than batches.max_completion_window (${this.deps.ir.maxCompletionWindowMs / 3_600_000}h)`, 'completion_window')
    if (metadata !== undefined && metadata !== null && !isStringMap(metadata)) return fail('SY_BATCH_INVALID', 'metadata must be an object of strings', 'metadata')
    const file = await meta.file(fileId)
    if (file === undefined || file.owner !== owner) return fail('SY_FILE_NOT_FOUND', `no file '${fileId}'`, 'input_file_id')
    if (file.purpose !== 'batch') return fail('SY_BATCH_INVALID', `file '${fileId}' has purpose '${file.purpose}', not 'batch'`, 'input_file_id')
    const content = await this.deps.files.read(fileId)
    if (content === undefined) return fail('SY_FILE_NOT_FOUND', `file '${fileId}' is recorded but its content is not in this host's storage (batches.storage.dir)`, 'input_file_id')
    const parsed = parseBatchFile(content.toString('utf8'), endpoint, this.deps.ir.maxLines)
    if (!parsed.ok) return fail(parsed.code, parsed.message, 'input_file_id')
    if (parsed.lines.length === 0) return fail('SY_BATCH_INVALID', `the input file has no valid line${parsed.invalid.length ? ` (${parsed.invalid[0].message})` : ''}`, 'input_file_id')
    const created = nowSeconds()
    const record: BatchRecord = {
      id: `batch_${randomBytes(12).toString('hex')}`, endpoint, input_file_id: fileId, completion_window: window as string, status: 'validating',
      output_file_id: null, error_file_id: null, created_at: created, in_progress_at: null, expires_at: created + Math.ceil(windowMs / 1000),
      finalizing_at: null, completed_at: null, failed_at: null, expired_at: null, cancelling_at: null, cancelled_at: null,
      request_counts: { total: parsed.lines.length + parsed.invalid.length, completed: 0, failed: 0 },
      metadata: (metadata as Record<string, string> | undefined) ?? null, errors: null,
      owner, identity: req.identity, listener: req.listener, port: req.port, lines: parsed.lines.length, invalid: parsed.invalid.length,
    }
    await meta.createBatch(record)
    try {
      for (let i = 0; i < parsed.lines.length; i += PUBLISH_AT_ONCE) {
        await Promise.all(parsed.lines.slice(i, i + PUBLISH_AT_ONCE).map((l) => queue.publishLine({ b: record.id, i: l.index, n: l.line, custom_id: l.customId, url: endpoint, body: l.body })))
      }
    } catch (e) {
      log('warn', 'batch lines could not be queued', { batch: record.id, error: (e as Error).message })
      await meta.updateBatch(record.id, (r) => {
        r.status = 'failed'
        r.failed_at = nowSeconds()
        r.errors = { object: 'list', data: [{ code: 'queue_unavailable', message: 'the lines could not be queued (NATS JetStream)', param: null, line: null }] }
        return true
      })
      return fail('SY_BATCHES_UNAVAILABLE', 'the lines could not be queued (NATS JetStream); the batch is marked failed')
    }
    const started = await meta.updateBatch(record.id, (r) => {
      if (r.status !== 'validating') return false
      r.status = 'in_progress'
      r.in_progress_at = nowSeconds()
      return true
    })
    log('info', 'batch created', { batch: record.id, lines: record.lines, invalid: record.invalid, endpoint })
    return json(200, publicBatch(started ?? (await meta.batch(record.id)) ?? record))
  }

  private async listBatches(req: BatchApiRequest, meta: MetaStore, owner: string | undefined): Promise<BatchApiReply> {
    const mine = (await meta.batches()).filter((b) => b.owner === owner).sort((a, b) => b.created_at - a.created_at || cmp(b.id, a.id))
    return json(200, page(mine.map(publicBatch), req.query, 100))
  }

  private async withBatch(meta: MetaStore, id: string, owner: string | undefined, then: (b: BatchRecord) => Promise<BatchApiReply>): Promise<BatchApiReply> {
    const b = await meta.batch(id)
    if (b === undefined || b.owner !== owner) return fail('SY_BATCH_NOT_FOUND', `no batch '${id}'`, 'batch_id')
    return then(b)
  }

  /** A running batch's counts come from the streams: lines answered so far, successes and failures. */
  private async describe(b: BatchRecord): Promise<BatchApiReply> {
    if (b.status === 'in_progress' || b.status === 'cancelling' || b.status === 'finalizing') {
      const a = await this.deps.queue()!.answered(b.id)
      const ok = Math.min(a.ok, b.lines)
      b.request_counts = { total: b.lines + b.invalid, completed: ok, failed: Math.min(a.err, b.lines - ok) + b.invalid }
    }
    return json(200, publicBatch(b))
  }

  private async cancel(b: BatchRecord): Promise<BatchApiReply> {
    if (b.status === 'cancelling' || b.status === 'cancelled') return this.describe(b)
    const cancelled = await this.deps.lifecycle()!.cancel(b.id)
    if (cancelled === undefined) return fail('SY_BATCH_NOT_CANCELLABLE', `batch '${b.id}' is ${b.status}; only a validating or in-progress batch can be cancelled`, 'batch_id')
    return this.describe(cancelled)
  }
}

function json(status: number, value: unknown): BatchApiReply {
  return { status, headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(value)) }
}

function fail(code: RuntimeErrorCode, message: string, param: string | null = null): BatchApiReply {
  return errorReply('openai', code, message, param)
}

/** OpenAI's cursor pages: `limit` (default 20), `after` (the last id of the previous page). */
function page(items: readonly Record<string, unknown>[], query: string, maxLimit: number): Record<string, unknown> {
  const q = new URLSearchParams(query)
  const limit = Math.min(Math.max(Number(q.get('limit') ?? 20) || 20, 1), maxLimit)
  const after = q.get('after')
  const from = after === null ? 0 : items.findIndex((x) => x.id === after) + 1
  const data = items.slice(from, from + limit)
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: from + limit < items.length }
}

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
