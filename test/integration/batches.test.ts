/**
 * The Batch API end to end: the official `openai` SDK uploads JSONL files and runs batches
 * against a gateway process whose lines run on a private nats-server (JetStream), through the
 * normal routing to mock clusters. The first test kills the gateway mid-batch (SIGKILL: no drain,
 * lines unacked) and starts it again: every line must be answered exactly once.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI, { toFile } from 'openai'
import { startNats, type NatsServer } from '../support/nats-server.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { createKeyRecord } from '../../src/shared/key-records.js'

let nats: NatsServer
let gw: GatewayProcess
let port: number
let authPort: number
const keys = { free: createKeyRecord({ tenant: 'free', id: 'free-key' }, Date.now()), pro: createKeyRecord({ tenant: 'pro', id: 'pro-key' }, Date.now()) }
let storage: string
let client: OpenAI

const config = (admin: number) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
  - { name: keyed, address: 127.0.0.1, port: ${authPort}, route_table: main, filters: [keys] }
filters:
  - { name: keys, type: api_key }
tenants:
  - { name: free, models: [gpt-4o-mini] }
  - { name: pro, models: ["*"] }
keys:
  - { id: free-key, tenant: free, hash: "${keys.free.record.hash}" }
  - { id: pro-key, tenant: pro, hash: "${keys.pro.record.hash}" }
routes:
  - name: main
    rules:
      - { name: broken, match: { model: { exact: broken } }, cluster: broken }
      - { name: slow, match: { model: { exact: slow } }, cluster: slow }
      - { name: chat, match: { path: { prefix: /v1/ } }, cluster: mock }
clusters:
  - { name: mock, provider: mock, mock: { latency: 60ms } }
  - { name: slow, provider: mock, mock: { latency: 4s } }
  - { name: broken, provider: mock, mock: { fail: { status: 400 } } }
batches:
  nats: { servers: ["${nats.url}"] }
  stream: TEST_BATCH
  storage: { dir: ${storage} }
  concurrency: 32
  ack_wait: 2s
  yield_to_interactive: 4
  max_file_size: 1mb
`

before(async () => {
  nats = await startNats()
  port = await freePort()
  authPort = await freePort()
  storage = mkdtempSync(join(tmpdir(), 'switchyard-batch-files-'))
  gw = await startGateway(config, { workers: 2 })
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0 })
  await batchesReady()
})

/** The batch service connects to NATS after the gateway is ready; until then the Batch API answers 503. */
async function batchesReady(): Promise<void> {
  await eventually(() => client.batches.list().then(() => true, () => false), 10_000, 'the batch service')
}

after(async () => {
  if (process.env.SWITCHYARD_TEST_SHOW_OUTPUT) console.log(gw?.output())
  await gw?.stop()
  await nats?.close()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function chatLine(customId: string, content: string, model = 'gpt-4o-mini'): string {
  return JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content }] } })
}

async function upload(lines: readonly string[], name = 'input.jsonl'): Promise<string> {
  const f = await client.files.create({ file: await toFile(Buffer.from(lines.join('\n') + '\n'), name), purpose: 'batch' })
  return f.id
}

async function waitFor(id: string, done: (b: OpenAI.Batches.Batch) => boolean, ms: number): Promise<OpenAI.Batches.Batch> {
  let last: OpenAI.Batches.Batch | undefined
  await eventually(async () => {
    try {
      last = await client.batches.retrieve(id)
    } catch {
      return false
    }
    return done(last)
  }, ms, `batch ${id} (last: ${last?.status} ${JSON.stringify(last?.request_counts)})`)
  return last!
}

async function jsonl(fileId: string): Promise<any[]> {
  const text = await (await client.files.content(fileId)).text()
  return text.trim().split('\n').map((l) => JSON.parse(l))
}

describe('batches', () => {
  test('a 1,000-line batch survives the gateway killed mid-batch: every line answered exactly once', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => chatLine(`req-${i}`, `line ${i}`))
    const fileId = await upload(lines)
    const created = await client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { run: 'kill' } })
    assert.equal(created.status, 'in_progress')
    assert.equal(created.request_counts?.total, 1000)

    await waitFor(created.id, (b) => (b.request_counts?.completed ?? 0) >= 150, 20_000)
    gw.child.kill('SIGKILL')
    await gw.exited
    gw = await startGateway(config, { workers: 2 })
    await batchesReady()
    const resumed = await client.batches.retrieve(created.id)
    assert.equal(resumed.status, 'in_progress', 'the killed gateway had not finished the batch')
    assert.ok((resumed.request_counts?.completed ?? 0) < 1000)

    const done = await waitFor(created.id, (b) => b.status === 'completed', 40_000)
    // The lines the killed process held unacked came back from JetStream (after ack_wait).
    assert.match(gw.output(), /batch line delivered again/)
    assert.deepEqual(done.request_counts, { total: 1000, completed: 1000, failed: 0 })
    assert.equal(done.error_file_id, null)
    assert.deepEqual(done.metadata, { run: 'kill' })
    const out = await jsonl(done.output_file_id!)
    assert.equal(out.length, 1000)
    assert.equal(new Set(out.map((l) => l.custom_id)).size, 1000)
    out.forEach((l, i) => {
      assert.equal(l.custom_id, `req-${i}`, 'output in input order')
      assert.equal(l.response.status_code, 200)
      assert.equal(l.error, null)
      assert.equal(l.response.body.choices[0].message.content, `Mock reply to: line ${i}`)
    })
    const listed = await client.batches.list()
    assert.ok(listed.data.some((b) => b.id === created.id && b.status === 'completed'))
  })

  test('lines yield to interactive traffic: none starts while yield_to_interactive requests are in flight', async () => {
    const interactive = Array.from({ length: 5 }, () => client.chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: 'hold' }] }))
    const slowInFlight = async () => ((await (await fetch(`${gw.admin}/clusters`)).json()) as { slow?: { inflight?: number } }).slow?.inflight ?? 0
    await eventually(async () => (await slowInFlight()) >= 5, undefined, 'the 5 interactive requests in flight')
    const b = await client.batches.create({ input_file_id: await upload(Array.from({ length: 10 }, (_, i) => chatLine(`y-${i}`, `y ${i}`))), endpoint: '/v1/chat/completions', completion_window: '24h' })
    // An absence (no line starts): a fixed window, and the interactive requests (4 s each) must
    // still be in flight at its end, or the window proved nothing.
    await sleep(1500)
    const held = await client.batches.retrieve(b.id)
    assert.ok((await slowInFlight()) >= 5, 'the interactive requests ended before the window did: nothing was proven')
    assert.equal(held.status, 'in_progress')
    assert.equal(held.request_counts?.completed, 0, 'no line ran while 5 interactive requests were in flight')
    const answers = await Promise.all(interactive)
    assert.equal(answers.length, 5)
    const done = await waitFor(b.id, (x) => x.status === 'completed', 10_000)
    assert.deepEqual(done.request_counts, { total: 10, completed: 10, failed: 0 })
  })

  test('behind api_key auth: lines run as the tenant that created the batch, and batches are the tenant\'s own', async () => {
    const as = (key: string) => new OpenAI({ baseURL: `http://127.0.0.1:${authPort}/v1`, apiKey: key, maxRetries: 0 })
    const free = as(keys.free.key)
    const pro = as(keys.pro.key)
    await assert.rejects(as('sk-wrong').batches.list(), (e: any) => e.status === 401)
    const file = await free.files.create({ file: await toFile(Buffer.from([chatLine('allowed', 'a'), chatLine('forbidden', 'b', 'gpt-4o')].join('\n')), 'in.jsonl'), purpose: 'batch' })
    await assert.rejects(pro.files.retrieve(file.id), (e: any) => e.status === 404)
    const b = await free.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })
    await assert.rejects(pro.batches.retrieve(b.id), (e: any) => e.status === 404)
    assert.ok(!(await pro.batches.list()).data.some((x) => x.id === b.id))
    let done = b
    await eventually(async () => (done = await free.batches.retrieve(b.id)).status === 'completed', 15_000, 'the tenant batch')
    assert.deepEqual(done.request_counts, { total: 2, completed: 1, failed: 1 })
    const out = (await (await free.files.content(done.output_file_id!)).text()).trim().split('\n').map((l) => JSON.parse(l))
    assert.deepEqual(out.map((l) => [l.custom_id, l.response.status_code]), [['allowed', 200]])
    const errors = (await (await free.files.content(done.error_file_id!)).text()).trim().split('\n').map((l) => JSON.parse(l))
    // The tenant's model access applies to its lines: gpt-4o is not among free's models.
    assert.deepEqual(errors.map((l) => [l.custom_id, l.response.status_code, l.response.body.error.code]), [['forbidden', 403, 'model_not_found']])
  })

  test('invalid lines and failed answers go to the error file with their line numbers', async () => {
    const fileId = await upload([
      chatLine('ok-1', 'one'),
      '{"custom_id": "broken-json", ',
      JSON.stringify({ custom_id: 'wrong-url', method: 'POST', url: '/v1/embeddings', body: { model: 'x', input: 'y' } }),
      '',
      chatLine('upstream-400', 'two', 'broken'),
      chatLine('ok-2', 'three'),
    ])
    const b = await client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' })
    const done = await waitFor(b.id, (x) => x.status === 'completed', 15_000)
    assert.deepEqual(done.request_counts, { total: 5, completed: 2, failed: 3 })
    assert.deepEqual((await jsonl(done.output_file_id!)).map((l) => l.custom_id), ['ok-1', 'ok-2'])
    const errors = await jsonl(done.error_file_id!)
    assert.deepEqual(errors.map((e) => [e.custom_id, e.error?.code ?? null, e.error?.line ?? null, e.response?.status_code ?? null]), [
      [null, 'invalid_json_line', 2, null],
      ['wrong-url', 'invalid_line', 3, null],
      ['upstream-400', null, null, 400],
    ])
    assert.match(errors[1].error.message, /^line 3: url must be the batch's endpoint/)
    assert.equal(errors[2].response.body.error.code, 'mock_failure')
    await assert.rejects(client.batches.cancel(b.id), (e: any) => e.status === 409 && e.code === 'batch_not_cancellable')
  })

  test('a duplicate custom_id, a wrong purpose and a file over max_file_size are refused in OpenAI error shape', async () => {
    const dup = await upload([chatLine('a', '1'), chatLine('b', '2'), chatLine('a', '3')])
    await assert.rejects(client.batches.create({ input_file_id: dup, endpoint: '/v1/chat/completions', completion_window: '24h' }), (e: any) => {
      assert.equal(e.status, 400)
      assert.equal(e.code, 'duplicate_custom_id')
      assert.match(e.message, /custom_id 'a' on line 3 duplicates line 1/)
      return true
    })
    await assert.rejects(client.files.create({ file: await toFile(Buffer.from('x'), 'x.jsonl'), purpose: 'fine-tune' }), (e: any) => e.status === 400 && e.param === 'purpose')
    await assert.rejects(client.files.create({ file: await toFile(Buffer.alloc(1100 * 1024, 'a'), 'big.jsonl'), purpose: 'batch' }), (e: any) => e.status === 413 && e.code === 'file_too_large')
    await assert.rejects(client.batches.retrieve('batch_nope'), (e: any) => e.status === 404 && e.type === 'invalid_request_error')
    await assert.rejects(client.batches.create({ input_file_id: dup, endpoint: '/v1/chat/completions', completion_window: '9999h' as '24h' }), (e: any) => e.status === 400 && e.param === 'completion_window')
  })

  test('a batch not done within its completion window ends expired, unanswered lines in the error file', async () => {
    const fileId = await upload(Array.from({ length: 80 }, (_, i) => chatLine(`slow-${i}`, `s ${i}`, 'slow')))
    const b = await client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '1s' as '24h' })
    const done = await waitFor(b.id, (x) => x.status === 'expired', 15_000)
    assert.ok(done.expired_at)
    assert.equal(done.request_counts?.total, 80)
    assert.equal((done.request_counts?.completed ?? 0) + (done.request_counts?.failed ?? 0), 80)
    const errors = await jsonl(done.error_file_id!)
    assert.ok(errors.filter((e) => e.error?.code === 'batch_expired').length >= 80 - 32, 'the lines never started expired')
  })

  test('cancel stops a batch: cancelling, then cancelled with what had been answered', async () => {
    const fileId = await upload(Array.from({ length: 60 }, (_, i) => chatLine(`c-${i}`, `c ${i}`, 'slow')))
    const b = await client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' })
    const c = await client.batches.cancel(b.id)
    assert.equal(c.status, 'cancelling')
    const done = await waitFor(b.id, (x) => x.status === 'cancelled', 15_000)
    assert.ok(done.cancelled_at)
    assert.equal((done.request_counts?.completed ?? 0) + (done.request_counts?.failed ?? 0), 60)
    const errors = await jsonl(done.error_file_id!)
    assert.ok(errors.some((e) => e.error?.code === 'batch_cancelled'))
  })
})
