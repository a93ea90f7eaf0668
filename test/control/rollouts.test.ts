/**
 * The rollout schedule (control/rollouts.ts) against worker metrics reports the test writes, on a
 * clock it moves: steps pass only after their duration with min_requests served and the guards
 * holding; a breach sets 0 % at once; numbers are window deltas (what happened before the step
 * does not count); a reload keeps an unchanged rule's rollout and restarts a changed one; pause,
 * resume and abort do what they say. The guards' arithmetic is checked on its own at the end.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { RolloutIR, SnapshotIR } from '../../src/compiler/ir.js'
import type { WorkerMetricsReport } from '../../src/runtime/telemetry/request-metrics.js'
import { Rollouts, rolloutSlotKeys } from '../../src/control/rollouts.js'
import { judge } from '../../src/control/rollout-guards.js'
import { SharedStateTable, rolloutShareAt } from '../../src/shared/shared-state.js'

const ROLLOUT: RolloutIR = { candidate: 'new', baseline: 'old', steps: [10, 50, 100], stepMs: 1000, guards: { maxErrorRate: { overBaseline: 0.05 }, maxP95LatencyRatio: 2, minRequests: 10 } }

function ir(rollout: RolloutIR = ROLLOUT, extra = 0): SnapshotIR {
  return {
    telemetry: { metrics: { enabled: true } },
    routeTables: [{ name: 'main', rules: [{ name: 'chat', index: extra, match: { headers: [], query: [] }, filterOverrides: {}, streamRecovery: 'error', action: { kind: 'weighted', clusters: [{ name: 'old', weight: 100 }, { name: 'new', weight: 0 }], rollout } }] }],
  } as unknown as SnapshotIR
}

/** Cumulative counters per variant, turned into one worker's report. */
class Counters {
  readonly v: Record<string, { ok: number; err: number; slow: number }> = { old: { ok: 0, err: 0, slow: 0 }, new: { ok: 0, err: 0, slow: 0 } }
  add(variant: string, ok: number, err = 0, slow = 0) {
    this.v[variant].ok += ok
    this.v[variant].err += err
    this.v[variant].slow += slow
  }
  report(): WorkerMetricsReport {
    const requests = Object.entries(this.v).flatMap(([variant, c]) => [
      { labels: { route: 'chat', variant, status_class: '2xx' }, value: c.ok + c.slow },
      { labels: { route: 'chat', variant, status_class: '5xx' }, value: c.err },
    ])
    // Fast answers in the first bucket (≤ 10 ms), slow ones in the 0.5–1 s bucket.
    const duration = Object.entries(this.v).flatMap(([variant, c]) => [
      { labels: { route: 'chat', variant, le: '0.01' }, value: c.ok + c.err, metricName: 'switchyard_request_duration_seconds_bucket' },
      { labels: { route: 'chat', variant, le: '1' }, value: c.ok + c.err + c.slow, metricName: 'switchyard_request_duration_seconds_bucket' },
      { labels: { route: 'chat', variant, le: '+Inf' }, value: c.ok + c.err + c.slow, metricName: 'switchyard_request_duration_seconds_bucket' },
    ])
    return {
      sketches: [],
      families: [
        { name: 'switchyard_requests_total', help: '', type: 'counter', aggregator: 'sum', values: requests },
        { name: 'switchyard_request_duration_seconds', help: '', type: 'histogram', aggregator: 'sum', values: duration },
      ],
    }
  }
}

function rig() {
  const table = new SharedStateTable(16)
  const cells = new Int32Array(table.buffer)
  const counters = new Counters()
  let now = 1_000_000
  const rollouts = new Rollouts({ cells, query: async () => new Map([[1, counters.report()]]), workers: () => 1, now: () => now })
  const slots = table.assign(rolloutSlotKeys(ir()))
  rollouts.apply(ir(), slots)
  rollouts.stop() // the test reads by hand
  const read = () => (rollouts as unknown as { read(): Promise<void> }).read()
  return {
    rollouts, counters, read, slots,
    tick: (ms: number) => void (now += ms),
    share: () => rolloutShareAt(cells, slots['rollout:main/chat'])!.basisPoints / 100,
    status: () => rollouts.list()[0],
  }
}

test('a step passes after its duration with min_requests and the guards holding; the last one completes', async () => {
  const r = rig()
  assert.deepStrictEqual(r.slots, { 'rollout:main/chat': 0 })
  assert.equal(r.share(), 10)
  r.counters.add('old', 500, 3) // before the window opens: never judged
  await r.read() // opens the window
  r.counters.add('new', 9)
  r.counters.add('old', 90)
  r.tick(1500)
  await r.read()
  assert.equal(r.share(), 10, 'only 9 candidate requests')
  assert.match(r.status().waiting_for!, /10 candidate requests in the window \(9 so far\)/)
  r.counters.add('new', 1)
  await r.read()
  assert.equal(r.share(), 50)
  assert.equal(r.status().decisions[1].event, 'step passed')
  assert.deepStrictEqual(r.status().decisions[1].candidate, { requests: 10, errors: 0, error_rate: 0, latency_p95_ms: 9.5, ttft_p95_ms: null })
  r.counters.add('new', 50)
  r.tick(500)
  await r.read()
  assert.equal(r.share(), 50, 'held half its duration')
  r.tick(600)
  await r.read()
  assert.equal(r.share(), 100)
  r.counters.add('new', 20)
  r.tick(1100)
  await r.read()
  assert.equal(r.status().state, 'complete')
  assert.deepStrictEqual(r.status().effective_weights, { old: 0, new: 100 })
  assert.deepStrictEqual(r.status().decisions.map((d) => d.event), ['started', 'step passed', 'step passed', 'complete'])
})

test('a breach rolls back at once, before the step is over, with the numbers', async () => {
  const r = rig()
  await r.read()
  r.counters.add('old', 100, 1)
  r.counters.add('new', 9, 1)
  r.tick(200)
  await r.read()
  assert.equal(r.share(), 0)
  const s = r.status()
  assert.equal(s.state, 'rolled_back')
  assert.equal(s.decisions[1].reason, 'error rate 10% (1/10) > baseline 0.99% (1/101) + 5%')
  assert.deepStrictEqual(s.effective_weights, { old: 100, new: 0 })
})

test('a latency ratio breach names both p95s', async () => {
  const r = rig()
  await r.read()
  r.counters.add('old', 100)
  r.counters.add('new', 5, 0, 5)
  r.tick(100)
  await r.read()
  assert.match(r.status().decisions[1].reason!, /^p95 latency 901 ms is 94.84x the baseline's 9.5 ms > max 2x$/)
})

test('a reload keeps an unchanged rule (position aside) and restarts a changed one', async () => {
  const r = rig()
  await r.read()
  r.counters.add('new', 10)
  r.tick(1000)
  await r.read()
  assert.equal(r.share(), 50)
  r.rollouts.apply(ir(ROLLOUT, 3), r.slots)
  r.rollouts.stop()
  assert.equal(r.share(), 50)
  assert.equal(r.status().step, 1)
  r.rollouts.apply(ir({ ...ROLLOUT, steps: [20, 100] }), r.slots)
  r.rollouts.stop()
  assert.equal(r.share(), 20)
  assert.equal(r.status().decisions[0].reason, 'the rule changed, so its rollout starts again')
})

test('pause holds the share and the clock, resume continues, abort sets 0 %, resume after it starts again', async () => {
  const r = rig()
  await r.read()
  r.counters.add('new', 10)
  r.tick(600)
  assert.equal((await r.rollouts.command('chat', 'pause')).ok, true)
  r.tick(5000)
  await r.read()
  assert.equal(r.share(), 10)
  assert.equal(r.status().step_elapsed_ms, 600)
  const again = await r.rollouts.command('main/chat', 'pause')
  assert.deepStrictEqual(again, { ok: false, status: 409, error: 'rollout main/chat is paused: only a running rollout can be paused' })
  await r.rollouts.command('main/chat', 'resume')
  r.rollouts.stop()
  await r.read() // a fresh window opens; 600 ms already held
  r.counters.add('new', 10)
  r.tick(400)
  await r.read()
  assert.equal(r.share(), 50)
  await r.rollouts.command('main/chat', 'abort')
  r.rollouts.stop()
  assert.equal(r.share(), 0)
  assert.equal(r.status().state, 'aborted')
  await r.rollouts.command('main/chat', 'resume')
  r.rollouts.stop()
  assert.equal(r.share(), 10)
  assert.equal(r.status().step, 0)
  assert.deepStrictEqual(await r.rollouts.command('other', 'abort'), { ok: false, status: 404, error: "no rollout 'other' (known: main/chat)" })
})

test('guards: absolute error rate, min_requests, ratios skipped without a baseline p95', () => {
  const n = (requests: number, errors: number, p95: number | null) => ({ requests, errors, error_rate: requests ? errors / requests : null, latency_p95_ms: p95, ttft_p95_ms: null })
  const guards = { maxErrorRate: { absolute: 0.05 }, maxP95LatencyRatio: 1.5, minRequests: 20 }
  assert.deepStrictEqual(judge(guards, n(19, 19, 1), n(100, 0, 1)), { judged: false, breaches: [] })
  assert.deepStrictEqual(judge(guards, n(20, 1, 1), n(100, 0, 1)), { judged: true, breaches: [] })
  assert.deepStrictEqual(judge(guards, n(20, 2, 1), n(0, 0, null)), { judged: true, breaches: ['error rate 10% (2/20) > max 5%'] })
  assert.deepStrictEqual(judge(guards, n(20, 0, 16), n(100, 0, 10)), { judged: true, breaches: ["p95 latency 16 ms is 1.6x the baseline's 10 ms > max 1.5x"] })
})
