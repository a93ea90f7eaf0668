/**
 * The worker pool against a stand-in worker that speaks the real messages (the snapshot's version
 * tells it how to behave), and once against the real worker entry serving a real listener.
 */
import { test } from 'node:test'
import { redirectLog } from '../../src/shared/log.js'
import assert from 'node:assert/strict'
import { compileConfig } from '../../src/compiler/index.js'
import type { SnapshotIR } from '../../src/compiler/ir.js'
import { WorkerPool } from '../../src/control/worker-pool.js'
import { SharedStateTable } from '../../src/shared/shared-state.js'
import { eventually } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

/**
 * Versions that change the stand-in's behaviour: `fail…` answers apply-failed; `…+crash`: the first
 * worker to see it (cell 0 of the shared buffer decides, across threads) exits with code 7;
 * `mute…` never answers a clusters query or a dry build; `stuck…` ignores drain and reports drained on destroy.
 * A dry build of `reject…` answers one filter problem, of `throw…` an error, of `exit…` ends the thread.
 */
const STAND_IN = `
import { parentPort, threadId, workerData } from 'node:worker_threads'
const cells = new Int32Array(workerData.shared)
let version = ''
const send = (m) => parentPort.postMessage(m)
send({ type: 'started', worker: threadId, uws: 'native' })
parentPort.on('message', (m) => {
  if (m.type === 'snapshot') {
    version = m.ir.version
    if (version.endsWith('+crash') && Atomics.compareExchange(cells, 0, 0, 1) === 0) process.exit(7)
    if (version.startsWith('fail')) send({ type: 'apply-failed', worker: threadId, version, error: 'bad ' + threadId })
    else send({ type: 'applied', worker: threadId, version, ports: [workerData.workers], failed: [] })
  } else if (m.type === 'clusters') {
    if (!version.startsWith('mute')) send({ type: 'clusters', worker: threadId, id: m.id, data: { c: { 'http://e': { worker: threadId } } } })
  } else if (m.type === 'dry-build') {
    const v = m.ir.version
    if (v.startsWith('exit')) process.exit(3)
    if (v.startsWith('reject')) send({ type: 'dry-build', worker: threadId, id: m.id, problems: [{ filter: 'f', message: 'no ' + threadId }] })
    else if (v.startsWith('throw')) send({ type: 'dry-build', worker: threadId, id: m.id, problems: [], error: 'boom' })
    else if (!v.startsWith('mute')) send({ type: 'dry-build', worker: threadId, id: m.id, problems: [] })
  } else if (m.type === 'drain') {
    if (!version.startsWith('stuck')) send({ type: 'drained', worker: threadId })
  } else if (m.type === 'destroy') send({ type: 'drained', worker: threadId })
})
`
const script = new URL(`data:text/javascript,${encodeURIComponent(STAND_IN)}`)

/**
 * The pool carries the IR to the workers, reading only its cache filters (to send their shared
 * memory tiers: control/cache-buffers.ts); the stand-in reads only its version.
 */
const ir = (version: string) => ({ version, filters: [], routeTables: [] }) as unknown as SnapshotIR

function standInPool(t: { after(fn: () => Promise<void>): void }, size = 2): WorkerPool {
  const pool = new WorkerPool({ size, shared: new SharedStateTable(16).buffer, script })
  t.after(() => pool.terminate())
  return pool
}

/** The log lines this thread writes while `fn` runs (shared/log.ts redirectLog). */
async function logged(fn: () => Promise<void>): Promise<string> {
  let out = ''
  redirectLog((line) => void (out += line))
  try {
    await fn()
  } finally {
    redirectLog(undefined)
  }
  return out
}

test('every worker starts on the first snapshot and reports it', async (t) => {
  const pool = standInPool(t, 3)
  pool.start(ir('v1'), {})
  assert.equal(await pool.whenAllOn('v1', 5000), true)
  assert.deepStrictEqual(pool.behind('v1'), [])
  const statuses = pool.statuses
  assert.equal(statuses.length, 3)
  assert.equal(new Set(statuses.map((w) => w.id)).size, 3)
  for (const w of statuses) assert.deepStrictEqual({ ...w, id: 0 }, { id: 0, uws: 'native', version: 'v1', ports: [3], error: undefined })
})

test('a published snapshot reaches every worker; waiting for a version nobody serves gives up', async (t) => {
  const pool = standInPool(t)
  pool.start(ir('v1'), {})
  assert.equal(await pool.whenAllOn('v1', 5000), true)
  pool.publish(ir('v2'), {})
  assert.equal(await pool.whenAllOn('v2', 5000), true)
  assert.deepStrictEqual(pool.statuses.map((w) => w.version), ['v2', 'v2'])
  const started = Date.now()
  assert.equal(await pool.whenAllOn('v3', 100), false)
  assert.ok(Date.now() - started >= 90)
  assert.deepStrictEqual(pool.behind('v3').length, 2)
})

test('a worker that cannot build the snapshot counts as arrived, and behind() names it with its error', async (t) => {
  const pool = standInPool(t)
  pool.start(ir('fail-1'), {})
  assert.equal(await pool.whenAllOn('fail-1', 5000), true)
  assert.deepStrictEqual(pool.behind('fail-1').map((w) => w.error).sort(), pool.statuses.map((w) => `bad ${w.id}`).sort())
})

test('a worker that exits is replaced, and the replacement starts on the newest snapshot', async (t) => {
  const pool = standInPool(t)
  pool.start(ir('v1'), {})
  assert.equal(await pool.whenAllOn('v1', 5000), true)
  const before = pool.statuses.map((w) => w.id)
  const out = await logged(async () => {
    pool.publish(ir('v2+crash'), {})
    await eventually(() => pool.statuses.length === 2 && pool.statuses.every((w) => w.version === 'v2+crash') && pool.statuses.some((w) => !before.includes(w.id)), 5000, 'a replacement on v2')
  })
  assert.equal(pool.statuses.filter((w) => before.includes(w.id)).length, 1)
  assert.match(out, /worker exited; starting a replacement worker=\d+ code=7/)
})

test('after retire() a worker that exits is not replaced', async (t) => {
  const pool = standInPool(t)
  pool.start(ir('v1'), {})
  assert.equal(await pool.whenAllOn('v1', 5000), true)
  pool.retire()
  const out = await logged(async () => {
    pool.publish(ir('v2+crash'), {})
    await eventually(() => pool.statuses.length === 1, 5000, 'the crashed worker to go')
    await new Promise((r) => setTimeout(r, 100))
  })
  assert.equal(pool.statuses.length, 1)
  assert.doesNotMatch(out, /starting a replacement/)
})

test('queryClusters collects each worker\'s reply by worker id, and leaves out one that does not answer in time', async (t) => {
  const pool = standInPool(t)
  pool.start(ir('v1'), {})
  assert.equal(await pool.whenAllOn('v1', 5000), true)
  const replies = await pool.queryClusters()
  assert.deepStrictEqual([...replies.keys()].sort(), pool.statuses.map((w) => w.id).sort())
  for (const [id, data] of replies) assert.deepStrictEqual(data, { c: { 'http://e': { worker: id } } })

  pool.publish(ir('mute'), {})
  assert.equal(await pool.whenAllOn('mute', 5000), true)
  const started = Date.now()
  assert.deepStrictEqual(await pool.queryClusters(150), new Map())
  assert.ok(Date.now() - started >= 140)
})

test('drain waits for every worker to report drained', async (t) => {
  const pool = standInPool(t)
  pool.start(ir('v1'), {})
  assert.equal(await pool.whenAllOn('v1', 5000), true)
  const out = await logged(() => pool.drain(5000))
  assert.ok(pool.statuses.every((w) => w.drained))
  assert.doesNotMatch(out, /drain timeout/)
})

test('a drain that outlasts its timeout destroys what is left, with a warning', async (t) => {
  const pool = standInPool(t)
  pool.start(ir('stuck'), {})
  assert.equal(await pool.whenAllOn('stuck', 5000), true)
  const started = Date.now()
  const out = await logged(() => pool.drain(150))
  assert.ok(Date.now() - started >= 140)
  assert.ok(pool.statuses.every((w) => w.drained))
  assert.match(out, /warn .*drain timeout reached; closing connections with requests still in flight/)
})

test('terminate ends every worker and none is replaced', async (t) => {
  const pool = standInPool(t)
  pool.start(ir('v1'), {})
  assert.equal(await pool.whenAllOn('v1', 5000), true)
  await pool.terminate()
  await eventually(() => pool.statuses.length === 0, 2000, 'the workers to exit')
  await new Promise((r) => setTimeout(r, 100))
  assert.deepStrictEqual(pool.statuses, [])
})

test('with the real worker entry: both workers serve the listener, answer /clusters and drain', async (t) => {
  const port = await freePort()
  const r = compileConfig([{ name: 'pool.yaml', text: `
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes: [{ name: main, rules: [{ cluster: mock }] }]
clusters: [{ name: mock, provider: mock }]
` }], { source: 'test', env: {} })
  assert.ok(r.ok, JSON.stringify(r.diagnostics))
  const table = new SharedStateTable(64)
  const slots = table.assign(r.ir.clusters.flatMap((c) => [`cluster:${c.name}`, ...c.endpoints.map((e) => `${c.name}|${e.url}`)]))
  const pool = new WorkerPool({ size: 2, shared: table.buffer })
  t.after(() => pool.terminate())
  pool.start(r.ir, slots)
  assert.equal(await pool.whenAllOn(r.ir.version, 10_000), true)
  assert.deepStrictEqual(pool.behind(r.ir.version), [])
  for (const w of pool.statuses) {
    assert.deepStrictEqual(w.ports, [port])
    assert.notEqual(w.uws, 'unknown')
  }

  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  })
  assert.equal(res.status, 200)
  assert.match(JSON.stringify(await res.json()), /Mock reply/)

  const replies = await pool.queryClusters()
  assert.deepStrictEqual([...replies.keys()].sort(), pool.statuses.map((w) => w.id).sort())
  for (const data of replies.values()) assert.deepStrictEqual(Object.keys(data), ['mock'])

  await pool.drain(5000)
  assert.ok(pool.statuses.every((w) => w.drained))
  await assert.rejects(fetch(`http://127.0.0.1:${port}/v1/models`))
})

test('a dry build runs on one worker: its problems, its error, or a rejection when it does not answer or exits', async (t) => {
  const pool = standInPool(t, 2)
  pool.start(ir('v1'), {})
  assert.equal(await pool.whenAllOn('v1', 5000), true)
  assert.deepStrictEqual(await pool.dryBuild(ir('ok'), 2000), [])
  const problems = await pool.dryBuild(ir('reject'), 2000)
  assert.equal(problems.length, 1)
  assert.match(problems[0].message, /^no \d+$/)
  assert.ok(pool.statuses.some((w) => problems[0].message === `no ${w.id}`), 'answered by a worker of the pool')
  await assert.rejects(pool.dryBuild(ir('throw'), 2000), /^Error: boom$/)
  await assert.rejects(pool.dryBuild(ir('mute'), 200), /did not build the new config within 200 ms/)
  await assert.rejects(pool.dryBuild(ir('exit'), 5000), /exited while building the new config/)
})

test('a dry build with no worker running is rejected at once', async (t) => {
  const pool = standInPool(t, 1)
  await assert.rejects(pool.dryBuild(ir('ok'), 2000), /no worker thread is running/)
})
