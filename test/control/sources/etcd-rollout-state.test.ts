/**
 * Rollout records in a real etcd (sources/etcd-rollout-state.ts) and two rollout schedules
 * (control/rollouts.ts) sharing them, on metrics reports the test writes and one clock it moves:
 * a write is a compare-and-set on the revision it was derived from, so a stale step loses and
 * its host adopts the winner's record; a breach is written on top of a step another host passed
 * meanwhile; a new schedule on the same rule resumes the stored step with its clock; a changed
 * rule starts a new run; a host on an older config never overwrites a newer one's record; and
 * the config source neither loads nor reloads on these keys.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type { RolloutIR, SnapshotIR } from '../../../src/compiler/ir.js'
import type { WorkerMetricsReport } from '../../../src/runtime/telemetry/request-metrics.js'
import { Rollouts, rolloutSlotKeys, type RolloutStatus } from '../../../src/control/rollouts.js'
import type { RolloutRecord, RolloutStore } from '../../../src/control/rollout-state.js'
import { createEtcdRolloutStore } from '../../../src/control/sources/etcd-rollout-state.js'
import { createEtcdSource } from '../../../src/control/sources/etcd.js'
import { createEtcdClient } from '../../../src/control/sources/etcd-client.js'
import { SharedStateTable, rolloutShareAt } from '../../../src/shared/shared-state.js'
import { eventually } from '../../support/gateway-process.js'
import { startEtcd, type EtcdServer } from '../../support/etcd-server.js'

const ROLLOUT: RolloutIR = { candidate: 'new', baseline: 'old', steps: [10, 50, 100], stepMs: 1000, guards: { maxErrorRate: { absolute: 0.2 }, minRequests: 5 } }

function ir(version: string, rollout: RolloutIR = ROLLOUT): SnapshotIR {
  return {
    version,
    telemetry: { metrics: { enabled: true } },
    routeTables: [{ name: 'main', rules: [{ name: 'chat', index: 0, match: { headers: [], query: [] }, filterOverrides: {}, streamRecovery: 'error', action: { kind: 'weighted', clusters: [{ name: 'old', weight: 100 }, { name: 'new', weight: 0 }], rollout } }] }],
  } as unknown as SnapshotIR
}

/** One host's cumulative per-variant counters as a worker's metrics report. */
class Counters {
  readonly v: Record<string, { ok: number; err: number }> = { old: { ok: 0, err: 0 }, new: { ok: 0, err: 0 } }
  add(variant: 'old' | 'new', ok: number, err = 0) {
    this.v[variant].ok += ok
    this.v[variant].err += err
  }
  report(): WorkerMetricsReport {
    const values = Object.entries(this.v).flatMap(([variant, c]) => [
      { labels: { route: 'chat', variant, status_class: '2xx' }, value: c.ok },
      { labels: { route: 'chat', variant, status_class: '5xx' }, value: c.err },
    ])
    return { sketches: [], families: [{ name: 'switchyard_requests_total', help: '', type: 'counter', aggregator: 'sum', values }] } as unknown as WorkerMetricsReport
  }
}

let etcd: EtcdServer
let clock = 1_000_000
let n = 0
const stores: RolloutStore[] = []

before(async () => { etcd = await startEtcd() })
after(async () => {
  for (const s of stores) await s.close()
  await etcd.close()
})

/**
 * One host: its schedule on its own store (and shared-memory cell), reading by hand. `deaf`
 * withholds the store's watch from it, so its view stays stale until it writes.
 */
function host(prefix: string, name: string, opts: { deaf?: boolean } = {}) {
  const store = createEtcdRolloutStore({ client: etcd.client, prefix, endpoints: [etcd.url] })
  stores.push(store)
  const table = new SharedStateTable(16)
  const cells = new Int32Array(table.buffer)
  const counters = new Counters()
  const shared: RolloutStore = opts.deaf ? { ...store, watch: () => {} } : store
  const rollouts = new Rollouts({ cells, query: async () => new Map([[1, counters.report()]]), workers: () => 1, now: () => clock, store: shared, host: name })
  // Readings only when the test says so (the schedule's own timer would read on the real clock).
  ;(rollouts as unknown as { schedule(): void }).schedule = () => {}
  const slots = table.assign(rolloutSlotKeys(ir('1')))
  return {
    rollouts, counters,
    apply: (snapshot: SnapshotIR) => rollouts.apply(snapshot, slots),
    read: () => (rollouts as unknown as { read(): Promise<void> }).read(),
    share: () => rolloutShareAt(cells, slots['rollout:main/chat'])!.basisPoints / 100,
    status: (): RolloutStatus => rollouts.list()[0],
  }
}

const freshPrefix = () => `/switchyard/rollouts-${++n}/`

async function stored(prefix: string): Promise<{ record: RolloutRecord; rev: string }> {
  const kv = (await etcd.client.get(`${prefix}.state/rollouts/main/chat`).exec()).kvs[0]
  assert.ok(kv, 'a stored record')
  return { record: JSON.parse(kv.value.toString()) as RolloutRecord, rev: kv.mod_revision }
}

test('the store is a compare-and-set register: a write derived from an old revision loses and gets the winner back', async () => {
  const prefix = freshPrefix()
  const store = createEtcdRolloutStore({ client: etcd.client, prefix, endpoints: [etcd.url] })
  stores.push(store)
  const rec = (step: number): RolloutRecord => ({ fingerprint: 'f', config_version: '1', run: 1, state: 'running', step, held_ms: 0, since: 1, decisions: [] })
  assert.deepStrictEqual(await store.read('main/chat'), { record: undefined, rev: '0' })
  const first = await store.write('main/chat', rec(0), '0')
  assert.ok(first.ok)
  const again = await store.write('main/chat', rec(5), '0')
  assert.deepStrictEqual(again, { ok: false, current: { record: rec(0), rev: first.rev } })
  const second = await store.write('main/chat', rec(1), first.rev)
  assert.ok(second.ok)
  const stale = await store.write('main/chat', rec(9), first.rev)
  assert.deepStrictEqual(stale, { ok: false, current: { record: rec(1), rev: (second as { rev: string }).rev } })
  assert.deepStrictEqual((await store.read('main/chat')).record, rec(1))
  assert.match(store.describe('main/chat'), new RegExp(`${prefix}\\.state/rollouts/main/chat$`))
})

test('two hosts: one start, a stale step loses its compare and adopts the winner, both serve the same share', async () => {
  const prefix = freshPrefix()
  const a = host(prefix, 'host-a')
  const b = host(prefix, 'host-b', { deaf: true })
  await a.apply(ir('7'))
  await b.apply(ir('7'))
  const s0 = await stored(prefix)
  assert.equal(s0.record.decisions.length, 1, 'one start, not two')
  assert.deepStrictEqual([a.status().shared?.revision, b.status().shared?.revision], [s0.rev, s0.rev])
  for (const h of [a, b]) await h.read() // windows open
  for (const h of [a, b]) h.counters.add('new', 10)
  clock += 1000
  await a.read()
  assert.equal(a.share(), 50)
  assert.equal(b.share(), 10, 'b has not heard (no watch)')
  await b.read() // b's window passes too, from the old revision: its write loses
  assert.equal(b.share(), 50)
  const s1 = await stored(prefix)
  assert.deepStrictEqual(s1.record.decisions.map((d) => [d.event, d.host]), [['started', 'host-a'], ['step passed', 'host-a']])
  assert.deepStrictEqual(b.status().decisions, a.status().decisions)
  assert.equal(b.status().shared?.revision, s1.rev)
})

test('a breach on a host that missed a step is written on top of it: every host rolls back', async () => {
  const prefix = freshPrefix()
  const a = host(prefix, 'host-a')
  const b = host(prefix, 'host-b', { deaf: true })
  const c = host(prefix, 'host-c')
  await a.apply(ir('7'))
  await b.apply(ir('7'))
  await c.apply(ir('7'))
  for (const h of [a, b, c]) await h.read()
  a.counters.add('new', 10)
  clock += 1000
  await a.read()
  assert.equal(a.share(), 50)
  await eventually(() => c.share() === 50, 1000, 'c to follow through the watch')
  b.counters.add('new', 5, 5) // 50 % errors at what b still thinks is the first step
  await b.read()
  assert.equal(b.share(), 0)
  const s = await stored(prefix)
  assert.equal(s.record.state, 'rolled_back')
  assert.deepStrictEqual(s.record.decisions.map((d) => [d.event, d.host]), [['started', 'host-a'], ['step passed', 'host-a'], ['rolled back', 'host-b']])
  assert.equal(s.record.decisions[2].reason, 'error rate 50% (5/10) > max 20%')
  await eventually(() => a.share() === 0 && c.share() === 0, 1000, 'a and c to roll back')
  assert.equal(a.status().state, 'rolled_back')
})

test('a new schedule on the same rule resumes the stored step and its clock; pause and abort reach the other host', async () => {
  const prefix = freshPrefix()
  const a = host(prefix, 'host-a')
  await a.apply(ir('7'))
  await a.read()
  a.counters.add('new', 10)
  clock += 1000
  await a.read()
  clock += 300
  const restarted = host(prefix, 'host-b')
  await restarted.apply(ir('7'))
  assert.equal(restarted.share(), 50)
  assert.equal(restarted.status().step, 1)
  assert.equal(restarted.status().step_elapsed_ms, 300, 'the step has 700 ms left, not 1000')
  // A config version that moved on without touching the rule keeps it too.
  await restarted.apply(ir('9'))
  assert.equal(restarted.status().step, 1)
  const paused = await restarted.rollouts.command('chat', 'pause')
  assert.equal(paused.ok, true)
  await eventually(() => a.status().state === 'paused', 1000, 'a to pause')
  clock += 5000
  assert.equal(a.status().step_elapsed_ms, 300)
  assert.deepStrictEqual(await a.rollouts.command('chat', 'pause'), { ok: false, status: 409, error: 'rollout main/chat is paused: only a running rollout can be paused' })
  assert.equal((await a.rollouts.command('chat', 'abort')).ok, true)
  await eventually(() => restarted.share() === 0 && restarted.status().state === 'aborted', 1000, 'the abort to reach the other host')
})

test('a changed rule starts a new run; a host still on the older config does not overwrite it', async () => {
  const prefix = freshPrefix()
  const a = host(prefix, 'host-a')
  const b = host(prefix, 'host-b')
  await a.apply(ir('7'))
  await b.apply(ir('7'))
  await a.read()
  a.counters.add('new', 10)
  clock += 1000
  await a.read()
  await eventually(() => b.share() === 50, 1000, 'b at 50 %')
  const changed = { ...ROLLOUT, steps: [20, 100] }
  await a.apply(ir('8', changed))
  assert.equal(a.share(), 20)
  const s = await stored(prefix)
  assert.deepStrictEqual([s.record.run, s.record.config_version, s.record.decisions.at(-1)?.reason], [2, '8', 'the rule changed, so its rollout starts again'])
  // b (config 7) hears of a record for config 8's rule: it keeps what it serves and writes nothing.
  await eventually(() => b.status().waiting_for?.includes('to reach version 8') ?? false, 1000, 'b to notice it is behind')
  b.counters.add('new', 10)
  clock += 1000
  await b.read()
  await b.read()
  assert.equal((await stored(prefix)).rev, s.rev, 'b wrote nothing')
  await b.apply(ir('8', changed))
  assert.equal(b.share(), 20)
  assert.equal(b.status().shared?.run, 2)
})

test('a host behind a rule change that was then undone starts the rule\'s new run when it reaches the newer config', async () => {
  const prefix = freshPrefix()
  const a = host(prefix, 'host-a')
  const b = host(prefix, 'host-b')
  await a.apply(ir('7'))
  await b.apply(ir('7'))
  await a.apply(ir('8', { ...ROLLOUT, steps: [20, 100] }))
  await eventually(() => b.status().waiting_for?.includes('to reach version 8') ?? false, 1000, 'b to notice it is behind')
  // Config 9 puts the first rule back: for b the rule is unchanged, for the prefix it is a new run.
  await b.apply(ir('9'))
  const s = await stored(prefix)
  assert.deepStrictEqual([s.record.run, s.record.config_version, s.record.state, s.record.step], [3, '9', 'running', 0])
  assert.equal(b.share(), 10)
  assert.equal(b.status().waiting_for, undefined)
  await eventually(() => a.status().waiting_for?.includes('to reach version 9') ?? false, 1000, 'a to notice it is behind')
  await a.apply(ir('9'))
  assert.deepStrictEqual([a.share(), a.status().shared?.run, a.status().shared?.revision], [10, 3, s.rev])
})

test('the config source skips .state/ keys: not loaded, no reload, no new version', async () => {
  const prefix = freshPrefix()
  await etcd.client.put(`${prefix}clusters/a`).value('{ name: a, provider: mock }')
  const source = createEtcdSource({ client: createEtcdClient({ endpoints: [etcd.url] }), endpoints: [etcd.url], prefix })
  after(() => source.close())
  const first = await source.load()
  let reloads = 0
  source.watch(() => reloads++)
  await new Promise((r) => setTimeout(r, 200))
  reloads = 0
  await etcd.client.put(`${prefix}.state/rollouts/main/chat`).value('{}')
  await new Promise((r) => setTimeout(r, 300))
  assert.equal(reloads, 0, 'a state write is no reload')
  const second = await source.load()
  assert.deepStrictEqual(second.sources.map((s) => s.name), [`${prefix}clusters/a`])
  assert.equal(second.version, first.version)
  await etcd.client.put(`${prefix}clusters/b`).value('{ name: b, provider: mock }')
  await eventually(() => reloads > 0, 1000, 'a config write to reload')
})

test('while etcd is down an abort stands on this host and is stored when etcd is back; pause changes nothing', async () => {
  const prefix = freshPrefix()
  const a = host(prefix, 'host-a')
  await a.apply(ir('7'))
  await etcd.stop()
  try {
    const paused = await a.rollouts.command('chat', 'pause')
    assert.equal(paused.ok, false)
    assert.match((paused as { error: string }).error, /^cannot store rollout main\/chat in etcd http:\/\/127\.0\.0\.1:\d+ \/switchyard\/rollouts-\d+\/\.state\/rollouts\/main\/chat: .+; nothing changed$/)
    assert.equal(a.status().state, 'running')
    const aborted = await a.rollouts.command('chat', 'abort')
    assert.equal(aborted.ok, true)
    assert.equal(a.share(), 0)
    assert.equal(a.status().shared?.stored, false)
  } finally {
    await etcd.start()
  }
  await eventually(async () => {
    await a.read() // catches up what etcd does not have
    return a.status().shared?.stored === true
  }, 10_000, 'the abort to be stored')
  const s = await stored(prefix)
  assert.deepStrictEqual([s.record.state, s.record.decisions.at(-1)?.event], ['aborted', 'aborted'])
})
