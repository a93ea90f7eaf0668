/**
 * A batch line through a worker's dispatch, socket-free: it runs as the identity its batch was
 * created with (the listener's auth filters do not run, no credential is carried), yet the
 * tenant, the key's validity and the model access are checked against the current config, and a
 * line without an identity meets the listener's auth like any request.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig } from '../../../src/compiler/index.js'
import { buildSnapshot, releaseSnapshot } from '../../../src/runtime/build/snapshot.js'
import { createStores } from '../../../src/runtime/stores.js'
import { Gateway } from '../../../src/runtime/gateway.js'
import { runLine } from '../../../src/runtime/batches/line-dispatch.js'
import { isBatchApiPath } from '../../../src/runtime/batches/api-relay.js'
import { createKeyRecord } from '../../../src/shared/key-records.js'
import type { BatchLine, BatchLineResult } from '../../../src/control/batches/messages.js'
import type { Identity } from '../../../src/runtime/types.js'

const free = createKeyRecord({ tenant: 'free', id: 'free-key' }, Date.now())
const off = createKeyRecord({ tenant: 'free', id: 'off-key' }, Date.now())
const CONFIG = `
listeners:
  - { name: keyed, port: 18080, route_table: main, filters: [keys] }
filters:
  - { name: keys, type: api_key }
tenants:
  - { name: free, models: [gpt-4o-mini, slow] }
keys:
  - { id: free-key, tenant: free, hash: "${free.record.hash}" }
  - { id: off-key, tenant: free, hash: "${off.record.hash}", disabled: true }
routes:
  - name: main
    rules:
      - { match: { model: { exact: slow } }, cluster: slow }
      - { cluster: mock }
clusters:
  - { name: mock, provider: mock }
  - { name: slow, provider: mock, mock: { latency: 2s } }
batches:
  nats: { servers: ["nats://127.0.0.1:1"] }
`

function gateway(t: import('node:test').TestContext): Gateway {
  const r = compileConfig([{ name: 'batch.yaml', text: CONFIG }], { source: 'test', env: {} })
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'))
  const stores = createStores()
  const snap = buildSnapshot(r.ir, stores)
  assert.equal(snap.listeners.get(18080)?.batchApi, true, 'batches.listeners defaults to every openai listener')
  const gw = new Gateway(stores)
  gw.swap(snap)
  t.after(async () => {
    await gw.idle()
    releaseSnapshot(snap, stores)
    await stores.pools.closeAll()
  })
  return gw
}

const as = (keyId: string, tenant = 'free'): Identity => ({ tenant, labels: {}, via: 'api_key', keyId, claims: undefined })
const line = (model: string, identity: Identity | undefined, timeoutMs = 5000): BatchLine => ({
  port: 18080, method: 'POST', path: '/v1/chat/completions', requestId: 'batch_x-0', identity, timeoutMs,
  body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
})
const run = (gw: Gateway, l: BatchLine) => new Promise<BatchLineResult>((resolve) => runLine(gw, l, resolve))

test('a line runs as its batch creator: no credential, the auth filter not run again', async (t) => {
  const r = await run(gateway(t), line('gpt-4o-mini', as('free-key')))
  assert.equal(r.status, 200)
  assert.equal(r.requestId, 'batch_x-0')
  assert.equal(JSON.parse(r.body).choices[0].message.content, 'Mock reply to: hello')
})

test('a line without an identity meets the listener auth like any request (401)', async (t) => {
  const r = await run(gateway(t), line('gpt-4o-mini', undefined))
  assert.equal(r.status, 401)
  assert.equal(JSON.parse(r.body).error.code, 'invalid_api_key')
})

const refusals: [string, Identity, string, number, string, RegExp][] = [
  ['a key disabled since the batch was created', as('off-key'), 'gpt-4o-mini', 401, 'invalid_api_key', /no longer valid/],
  ['a key removed from the config', as('gone-key'), 'gpt-4o-mini', 401, 'invalid_api_key', /no longer valid/],
  ['a tenant removed from the config', as('free-key', 'ghost'), 'gpt-4o-mini', 401, 'invalid_api_key', /tenant 'ghost'/],
  ['a model the tenant may not use', as('free-key'), 'gpt-4o', 403, 'model_not_found', /may not use model 'gpt-4o'/],
]
for (const [what, identity, model, status, code, message] of refusals) {
  test(`a line is refused for ${what} (${status} ${code})`, async (t) => {
    const r = await run(gateway(t), line(model, identity))
    assert.equal(r.status, status)
    const e = JSON.parse(r.body).error
    assert.equal(e.code, code)
    assert.match(e.message, message)
  })
}

test('a line past its timeout is answered line_timeout and its upstream call stops', async (t) => {
  const gw = gateway(t)
  const started = Date.now()
  const r = await run(gw, line('slow', as('free-key'), 100))
  assert.equal(r.status, 0)
  assert.equal(r.error?.code, 'line_timeout')
  assert.ok(Date.now() - started < 1500)
  await gw.idle()
})

test('the Batch API paths: /v1/files and /v1/batches and below, nothing else', () => {
  const cases: [string, boolean][] = [
    ['/v1/files', true], ['/v1/files/file-1/content', true], ['/v1/batches', true], ['/v1/batches/b/cancel', true],
    ['/v1/filesystem', false], ['/v1/batchesx', false], ['/v1/chat/completions', false], ['/files', false],
  ]
  assert.deepStrictEqual(cases.map(([p]) => [p, isBatchApiPath(p)]), cases)
})
