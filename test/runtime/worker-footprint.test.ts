/**
 * What a worker thread holds in memory is mostly module code (bench/SOAK.md): a worker loads
 * undici's parts, not its index (fetch, WebSocket, cache, mocks), and loads @smithy (SigV4, AWS
 * event streams) only when its snapshot has a Bedrock cluster.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Worker } from 'node:worker_threads'
import { compileConfig } from '../../src/compiler/index.js'
import type { SnapshotIR } from '../../src/compiler/ir.js'

const OPENAI = '{ name: c, provider: openai, endpoints: [{ url: "http://127.0.0.1:1/v1", api_key: k }] }'
const BEDROCK = '{ name: c, provider: bedrock, bedrock: { region: us-east-1, access_key_id: AKIDEXAMPLE, secret_access_key: test-secret }, endpoints: [{ url: "http://127.0.0.1:1" }] }'

function irWith(cluster: string): SnapshotIR {
  const text = `listeners: [{ name: l, port: 9, route_table: t }]
routes: [{ name: t, rules: [{ match: { path: { prefix: / } }, cluster: c }] }]
clusters: [${cluster}]
`
  const r = compileConfig([{ name: 'footprint.yaml', text }], { source: 'test', env: {} })
  assert.ok(r.ok, JSON.stringify(!r.ok && r.diagnostics))
  return r.ir
}

/** The CommonJS files (all third-party code here) a fresh thread has loaded after building `ir`'s snapshot. */
function loadedAfterBuild(ir: SnapshotIR): Promise<string[]> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    Promise.all([import(workerData.snapshot), import(workerData.stores)]).then(([{ buildSnapshot }, { createStores }]) => {
      buildSnapshot(workerData.ir, createStores())
      parentPort.postMessage(Object.keys(require.cache))
    })`
  const workerData = {
    ir,
    snapshot: new URL('../../src/runtime/build/snapshot.js', import.meta.url).href,
    stores: new URL('../../src/runtime/stores.js', import.meta.url).href,
  }
  const w = new Worker(code, { eval: true, workerData })
  return new Promise((resolve, reject) => {
    w.once('message', (files: string[]) => { resolve(files); void w.terminate() })
    w.once('error', reject)
  })
}

const pkgFiles = (files: string[], pkg: string) => files.filter((f) => f.includes(`/node_modules/${pkg}/`))

test("a worker without Bedrock loads undici's pool but neither undici's index nor @smithy", async () => {
  const files = await loadedAfterBuild(irWith(OPENAI))
  assert.ok(pkgFiles(files, 'undici').some((f) => f.endsWith('/lib/dispatcher/pool.js')), 'undici pool not loaded')
  assert.deepStrictEqual(pkgFiles(files, 'undici').filter((f) => /\/undici\/(index\.js|lib\/web\/)/.test(f)), [])
  assert.deepStrictEqual(pkgFiles(files, '@smithy'), [])
})

test('a worker with a Bedrock cluster loads the SigV4 signer when it builds the snapshot', async () => {
  const files = await loadedAfterBuild(irWith(BEDROCK))
  assert.ok(pkgFiles(files, '@smithy/signature-v4').length > 0, '@smithy/signature-v4 not loaded')
})
