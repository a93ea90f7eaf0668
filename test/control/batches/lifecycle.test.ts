/**
 * How batches end, against a real nats-server (JetStream): the output is built from the stored
 * results deduplicated by custom_id, in input order; a line answered twice is stored once;
 * expiry drops the queued lines and answers them in the error file.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, headers, type NatsConnection } from 'nats'
import type { BatchesIR } from '../../../src/compiler/ir.js'
import { BatchQueue } from '../../../src/control/batches/jetstream.js'
import { MetaStore } from '../../../src/control/batches/meta.js'
import { LocalFileStore } from '../../../src/control/batches/file-store.js'
import { BatchLifecycle } from '../../../src/control/batches/lifecycle.js'
import { nowSeconds, type BatchRecord } from '../../../src/control/batches/records.js'
import { startNats, type NatsServer } from '../../support/nats-server.js'

let nats: NatsServer
let queue: BatchQueue
let meta: MetaStore
let files: LocalFileStore
let lifecycle: BatchLifecycle
let raw: NatsConnection
let dir: string

before(async () => {
  nats = await startNats()
  dir = mkdtempSync(join(tmpdir(), 'switchyard-batch-lifecycle-'))
  const ir: BatchesIR = {
    servers: [nats.url], connectTimeoutMs: 5000, stream: 'LC', replicas: 1, storageDir: dir, listeners: ['api'], concurrency: 4,
    yieldToInteractive: 0, maxFileBytes: 1 << 20, maxLines: 100, maxCompletionWindowMs: 3_600_000, ackWaitMs: 1000, maxAttempts: 3, lineTimeoutMs: 10_000,
  }
  queue = await BatchQueue.connect(ir)
  meta = new MetaStore(queue.meta)
  files = new LocalFileStore(dir)
  lifecycle = new BatchLifecycle(queue, meta, files, ir)
  raw = await connect({ servers: nats.url })
})

after(async () => {
  lifecycle?.stop()
  await raw?.close()
  await queue?.close()
  await nats?.close()
  rmSync(dir, { recursive: true, force: true })
})

const line = (id: string) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [] } })

async function batch(id: string, lines: string[], over: Partial<BatchRecord> = {}): Promise<void> {
  const fileId = `file-${id}`
  await files.write(fileId, Buffer.from(lines.join('\n')))
  const now = nowSeconds()
  await meta.createBatch({
    id, endpoint: '/v1/chat/completions', input_file_id: fileId, completion_window: '1h', status: 'in_progress', output_file_id: null, error_file_id: null,
    created_at: now, in_progress_at: now, expires_at: now + 3600, finalizing_at: null, completed_at: null, failed_at: null, expired_at: null,
    cancelling_at: null, cancelled_at: null, request_counts: { total: lines.length, completed: 0, failed: 0 }, metadata: null, errors: null,
    owner: undefined, identity: undefined, listener: 'api', port: 1, lines: lines.length, invalid: 0, ...over,
  })
}

const read = async (id: string | null) => (await files.read(id!))!.toString().trim().split('\n').map((l) => JSON.parse(l))

test('the output holds each custom_id once, in input order, even when a line was answered twice', async () => {
  await batch('batch_dedupe', [line('a'), line('b'), 'not json', line('c')])
  const ok = (i: number, custom_id: string) => ({ i, custom_id, status: 200, request_id: `r${i}`, body: { n: i } })
  await queue.publishResult('batch_dedupe', ok(3, 'c'))
  await queue.publishResult('batch_dedupe', ok(0, 'a'))
  await queue.publishResult('batch_dedupe', ok(0, 'a')) // the same Nats-Msg-Id: JetStream keeps one
  assert.deepEqual(await queue.answered('batch_dedupe'), { ok: 2, err: 0 })
  // A second answer that escaped the duplicate window (another message id): the first one wins.
  const h = headers()
  h.set('Nats-Msg-Id', 'late-duplicate')
  await raw.jetstream().publish('LC.results.batch_dedupe.err', JSON.stringify({ i: 0, custom_id: 'a', status: 500, request_id: 'late', body: {} }), { headers: h })
  await queue.publishResult('batch_dedupe', { i: 1, custom_id: 'b', status: 429, request_id: 'r1', body: { error: { code: 'rate_limit_exceeded' } } })

  await lifecycle.sweep()
  const b = (await meta.batch('batch_dedupe'))!
  assert.equal(b.status, 'completed')
  assert.deepEqual(b.request_counts, { total: 4, completed: 2, failed: 2 })
  assert.deepEqual((await read(b.output_file_id)).map((l) => [l.custom_id, l.response.status_code, l.response.request_id]), [['a', 200, 'r0'], ['c', 200, 'r3']])
  assert.deepEqual((await read(b.error_file_id)).map((l) => [l.custom_id, l.response?.status_code ?? null, l.error?.code ?? null, l.error?.line ?? null]), [['b', 429, null, null], [null, null, 'invalid_json_line', 3]])
  assert.deepEqual(await queue.answered('batch_dedupe'), { ok: 0, err: 0 }, 'results are purged once the files hold them')
})

test('a batch with lines still queued is not finalized', async () => {
  await batch('batch_busy', [line('x')])
  await queue.publishLine({ b: 'batch_busy', i: 0, n: 1, custom_id: 'x', url: '/v1/chat/completions', body: '{}' })
  await lifecycle.sweep()
  assert.equal((await meta.batch('batch_busy'))!.status, 'in_progress')
  assert.equal(await queue.remaining('batch_busy'), 1)
})

test('past its completion window a batch expires: queued lines dropped and answered batch_expired', async () => {
  await batch('batch_late', [line('p'), line('q')], { expires_at: nowSeconds() - 1 })
  await queue.publishLine({ b: 'batch_late', i: 1, n: 2, custom_id: 'q', url: '/v1/chat/completions', body: '{}' })
  await queue.publishResult('batch_late', { i: 0, custom_id: 'p', status: 200, request_id: 'r', body: {} })
  await lifecycle.sweep()
  const b = (await meta.batch('batch_late'))!
  assert.equal(b.status, 'expired')
  assert.ok(b.expired_at)
  assert.equal(await queue.remaining('batch_late'), 0)
  assert.deepEqual(b.request_counts, { total: 2, completed: 1, failed: 1 })
  assert.deepEqual((await read(b.error_file_id)).map((l) => [l.custom_id, l.error.code]), [['q', 'batch_expired']])
})

test('two hosts sweeping at once agree on one end (compare-and-set on the record)', async () => {
  await batch('batch_race', [line('r')])
  await queue.publishResult('batch_race', { i: 0, custom_id: 'r', status: 200, request_id: 'r', body: {} })
  const other = new BatchLifecycle(queue, meta, files, { ackWaitMs: 1000 } as BatchesIR)
  await Promise.all([lifecycle.sweep(), other.sweep(), lifecycle.sweep()])
  const b = (await meta.batch('batch_race'))!
  assert.equal(b.status, 'completed')
  assert.deepEqual(b.request_counts, { total: 1, completed: 1, failed: 0 })
})
