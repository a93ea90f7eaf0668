/**
 * Progressive canaries (a `weighted_clusters` rule's `rollout:`), driven from the main thread.
 * Each rollout holds its candidate's share of the baseline + candidate pair in one shared cell
 * (shared-state.ts RolloutShare, slot `rollout:<table>/<rule>`) that every worker's pick reads per
 * request, so a step or a rollback reaches all workers at once without a new snapshot. A timer
 * reads the workers' per-variant counters (the series of /experiments), takes their difference
 * since the step began, and judges the guards (rollout-guards.ts): a breach sets the share to 0
 * at once, a step held for its duration with the guards holding moves to the next. Every decision
 * is one log line with its numbers.
 *
 * State is kept across reloads while the rule is unchanged (compared whole, its position aside);
 * a changed rule starts its rollout again. It lives in this process only: hosts reading one etcd
 * prefix each run their own schedule.
 */
import type { RolloutIR, RuleIR, SnapshotIR } from '../compiler/ir.js'
import type { WorkerMetricsReport } from '../runtime/telemetry/request-metrics.js'
import { ROLLOUT_FULL, RolloutShare, rolloutShareAt } from '../shared/shared-state.js'
import { log } from '../shared/log.js'
import { judge, numbersOf, variantCounters, windowOf, type VariantCounters, type WindowNumbers } from './rollout-guards.js'

export type RolloutPhase = 'running' | 'paused' | 'rolled_back' | 'aborted' | 'complete'
export type RolloutCommand = 'pause' | 'resume' | 'abort'

export interface RolloutDecision {
  readonly at: string
  readonly event: 'started' | 'step passed' | 'rolled back' | 'complete' | 'paused' | 'resumed' | 'aborted'
  /** The candidate's share after the decision, percent of the pair. */
  readonly share_percent: number
  readonly reason?: string
  readonly candidate?: WindowNumbers
  readonly baseline?: WindowNumbers
}

/** GET /rollouts: one entry per rollout rule. */
export interface RolloutStatus {
  readonly id: string
  readonly route_table: string
  readonly rule: string
  readonly candidate: string
  readonly baseline: string
  readonly state: RolloutPhase
  readonly steps: readonly number[]
  /** Index into steps of the step being held (or last held). */
  readonly step: number
  readonly share_percent: number
  readonly step_duration_ms: number
  /** Milliseconds the current step has been held (running or paused); null before its window opens. */
  readonly step_elapsed_ms: number | null
  readonly configured_weights: Record<string, number>
  readonly effective_weights: Record<string, number>
  /** The current window's numbers, as last read. */
  readonly window: { readonly candidate: WindowNumbers; readonly baseline: WindowNumbers } | null
  readonly waiting_for?: string
  readonly decisions: readonly RolloutDecision[]
}

interface Live {
  readonly id: string
  readonly table: string
  readonly rule: string
  readonly ro: RolloutIR
  readonly weights: readonly { readonly name: string; readonly weight: number }[]
  readonly fingerprint: string
  readonly cell: RolloutShare
  state: RolloutPhase
  step: number
  /** When the current window opened, and the counters then; unset until the next reading. */
  window?: { readonly since: number; readonly candidate: VariantCounters; readonly baseline: VariantCounters }
  /** Time already held before a pause. */
  heldMs: number
  last?: { readonly candidate: WindowNumbers; readonly baseline: WindowNumbers }
  waitingFor?: string
  readonly decisions: RolloutDecision[]
}

export interface RolloutsOptions {
  readonly cells: Int32Array
  /** Every worker's metrics report; readings with fewer than `workers()` replies are skipped. */
  readonly query: () => Promise<Map<number, WorkerMetricsReport>>
  readonly workers: () => number
  readonly now?: () => number
}

/** The shared-state keys of the rollouts in `ir` (one slot each). */
export function rolloutSlotKeys(ir: SnapshotIR): string[] {
  return rolloutRules(ir).map(({ id }) => `rollout:${id}`)
}

function rolloutRules(ir: SnapshotIR): { id: string; table: string; rule: RuleIR; ro: RolloutIR; weights: readonly { name: string; weight: number }[] }[] {
  const out = []
  for (const t of ir.routeTables) {
    for (const r of t.rules) {
      if (r.action.kind === 'weighted' && r.action.rollout) out.push({ id: `${t.name}/${r.name}`, table: t.name, rule: r, ro: r.action.rollout, weights: r.action.clusters })
    }
  }
  return out
}

const MAX_DECISIONS = 50

export class Rollouts {
  private readonly live = new Map<string, Live>()
  private timer: NodeJS.Timeout | undefined
  private reading = false
  private metricsOn = true
  private readonly now: () => number

  constructor(private readonly opts: RolloutsOptions) {
    this.now = opts.now ?? Date.now
  }

  /** A new snapshot (before it reaches the workers): keeps unchanged rollouts, starts new or changed ones. */
  apply(ir: SnapshotIR, slots: Record<string, number>): void {
    this.metricsOn = ir.telemetry?.metrics.enabled !== false
    const seen = new Set<string>()
    for (const { id, table, rule, ro, weights } of rolloutRules(ir)) {
      seen.add(id)
      const fingerprint = JSON.stringify({ ...rule, index: undefined })
      const before = this.live.get(id)
      if (before?.fingerprint === fingerprint) continue
      const cell = rolloutShareAt(this.opts.cells, slots[`rollout:${id}`]) ?? RolloutShare.local()
      const l: Live = { id, table, rule: rule.name, ro, weights, fingerprint, cell, state: 'running', step: 0, heldMs: 0, decisions: [] }
      cell.basisPoints = ro.steps[0] * 100
      this.live.set(id, l)
      this.decide(l, 'started', before ? 'the rule changed, so its rollout starts again' : undefined)
    }
    for (const id of [...this.live.keys()]) {
      if (!seen.has(id)) {
        this.live.delete(id)
        log('info', 'rollout removed from the config', { rollout: id })
      }
    }
    this.schedule()
  }

  list(): RolloutStatus[] {
    return [...this.live.values()].map((l) => this.describe(l))
  }

  /** Effective weights of a rule (`<table>/<rule>`) under its rollout; undefined without one. */
  effectiveWeights(id: string): Record<string, number> | undefined {
    const l = this.live.get(id)
    return l && effective(l)
  }

  /** pause holds the share and the step clock; resume continues a paused rollout, or starts a rolled-back or aborted one again from its first step; abort sets 0 %. */
  command(id: string, what: RolloutCommand): { ok: true; rollout: RolloutStatus } | { ok: false; status: number; error: string } {
    const l = this.live.get(id) ?? [...this.live.values()].find((x) => x.rule === id)
    if (!l) return { ok: false, status: 404, error: `no rollout '${id}' (known: ${[...this.live.keys()].join(', ') || 'none'})` }
    const refuse = (why: string) => ({ ok: false as const, status: 409, error: `rollout ${l.id} is ${l.state.replace('_', ' ')}: ${why}` })
    if (what === 'pause') {
      if (l.state !== 'running') return refuse('only a running rollout can be paused')
      if (l.window) l.heldMs += this.now() - l.window.since
      l.state = 'paused'
      this.decide(l, 'paused')
    } else if (what === 'resume') {
      if (l.state === 'running' || l.state === 'complete') return refuse('nothing to resume')
      if (l.state !== 'paused') {
        l.step = 0
        l.heldMs = 0
        l.cell.basisPoints = l.ro.steps[0] * 100
      }
      // The window opens again at the next reading: what happened while paused is not judged.
      l.window = undefined
      l.state = 'running'
      this.decide(l, 'resumed')
    } else {
      if (l.state === 'aborted' || l.state === 'rolled_back') return refuse('the candidate is already at 0 %')
      l.cell.basisPoints = 0
      l.state = 'aborted'
      l.window = undefined
      this.decide(l, 'aborted', 'by an operator (admin API)')
    }
    this.schedule()
    return { ok: true, rollout: this.describe(l) }
  }

  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** One reading a quarter step apart (between 100 ms and 1 s) while any rollout runs. */
  private schedule(): void {
    const running = [...this.live.values()].filter((l) => l.state === 'running')
    if (running.length === 0 || this.timer !== undefined) return
    const every = Math.max(100, Math.min(1000, Math.min(...running.map((l) => l.ro.stepMs)) / 4))
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.read().finally(() => this.schedule())
    }, every)
    this.timer.unref()
  }

  private async read(): Promise<void> {
    if (this.reading) return
    this.reading = true
    try {
      const running = [...this.live.values()].filter((l) => l.state === 'running')
      if (running.length === 0) return
      if (!this.metricsOn) {
        for (const l of running) l.waitingFor = 'metrics (telemetry.metrics.enabled is false, so no step can be judged)'
        return
      }
      const replies = await this.opts.query()
      if (replies.size < this.opts.workers()) return
      const reports = [...replies.values()]
      const at = this.now()
      for (const l of running) {
        if (l.state !== 'running') continue
        const candidate = variantCounters(reports, l.rule, l.ro.candidate)
        const baseline = variantCounters(reports, l.rule, l.ro.baseline)
        if (!l.window) {
          l.window = { since: at, candidate, baseline }
          continue
        }
        this.judgeStep(l, at, candidate, baseline)
      }
    } catch (e) {
      log('warn', 'rollout reading failed; trying again', { error: (e as Error)?.message ?? String(e) })
    } finally {
      this.reading = false
    }
  }

  private judgeStep(l: Live, at: number, candidateNow: VariantCounters, baselineNow: VariantCounters): void {
    const w = l.window!
    const candidate = numbersOf(windowOf(candidateNow, w.candidate))
    const baseline = numbersOf(windowOf(baselineNow, w.baseline))
    l.last = { candidate, baseline }
    const verdict = judge(l.ro.guards, candidate, baseline)
    if (verdict.breaches.length > 0) {
      l.cell.basisPoints = 0
      l.state = 'rolled_back'
      l.window = undefined
      l.waitingFor = undefined
      this.decide(l, 'rolled back', verdict.breaches.join('; '), candidate, baseline)
      return
    }
    const held = l.heldMs + at - w.since
    if (held < l.ro.stepMs) {
      l.waitingFor = `the step's duration (${Math.round(held)} of ${l.ro.stepMs} ms held)`
      return
    }
    if (!verdict.judged) {
      l.waitingFor = `${l.ro.guards.minRequests} candidate requests in the window (${candidate.requests} so far)`
      return
    }
    l.waitingFor = undefined
    l.heldMs = 0
    if (l.step === l.ro.steps.length - 1) {
      l.state = 'complete'
      l.window = undefined
      this.decide(l, 'complete', 'every step passed; edit the rule to make the new weights permanent', candidate, baseline)
      return
    }
    l.step++
    l.cell.basisPoints = l.ro.steps[l.step] * 100
    l.window = { since: at, candidate: candidateNow, baseline: baselineNow }
    this.decide(l, 'step passed', `guards held for ${l.ro.stepMs} ms; now ${l.ro.steps[l.step]}%`, candidate, baseline)
  }

  /** The audit line of a rollout decision, and its entry in /rollouts. */
  private decide(l: Live, event: RolloutDecision['event'], reason?: string, candidate?: WindowNumbers, baseline?: WindowNumbers): void {
    const share = l.cell.basisPoints / 100
    const d: RolloutDecision = { at: new Date(this.now()).toISOString(), event, share_percent: share, ...(reason && { reason }), ...(candidate && { candidate }), ...(baseline && { baseline }) }
    l.decisions.push(d)
    if (l.decisions.length > MAX_DECISIONS) l.decisions.shift()
    log(event === 'rolled back' || event === 'aborted' ? 'warn' : 'info', `rollout ${event}`, {
      rollout: l.id, candidate: l.ro.candidate, baseline: l.ro.baseline, share_percent: share,
      ...(event !== 'started' && event !== 'resumed' && event !== 'paused' && { step: `${l.step + 1}/${l.ro.steps.length}` }),
      ...(reason && { reason }),
      ...(candidate && { candidate_window: candidate }), ...(baseline && { baseline_window: baseline }),
    })
  }

  private describe(l: Live): RolloutStatus {
    const elapsed = l.state === 'paused' ? l.heldMs : l.window ? l.heldMs + this.now() - l.window.since : null
    return {
      id: l.id, route_table: l.table, rule: l.rule, candidate: l.ro.candidate, baseline: l.ro.baseline,
      state: l.state, steps: l.ro.steps, step: l.step, share_percent: l.cell.basisPoints / 100, step_duration_ms: l.ro.stepMs,
      step_elapsed_ms: l.state === 'running' || l.state === 'paused' ? (elapsed === null ? null : Math.round(elapsed)) : null,
      configured_weights: Object.fromEntries(l.weights.map((c) => [c.name, c.weight])),
      effective_weights: effective(l),
      window: l.last ?? null,
      ...(l.state === 'running' && l.waitingFor && { waiting_for: l.waitingFor }),
      decisions: l.decisions,
    }
  }
}

/** The split as the workers pick it: the pair's weight divided by the live share, the others as configured. */
function effective(l: Live): Record<string, number> {
  const pair = l.weights.filter((c) => c.name === l.ro.candidate || c.name === l.ro.baseline).reduce((n, c) => n + c.weight, 0)
  const toCandidate = (pair * l.cell.basisPoints) / ROLLOUT_FULL
  const round = (x: number) => Math.round(x * 100) / 100
  return Object.fromEntries(l.weights.map((c) => [c.name, c.name === l.ro.candidate ? round(toCandidate) : c.name === l.ro.baseline ? round(pair - toCandidate) : c.weight]))
}
