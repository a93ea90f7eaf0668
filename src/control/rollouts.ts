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
 * a changed rule starts its rollout again. The state is one record (rollout-state.ts).
 *
 * With a store (the etcd source's, under the prefix) the record is shared by every host on it:
 * a host adopts the stored record when the rule is the one it runs (a restarted host resumes the
 * step, its clock included), and writes each decision with a compare on the revision it derived
 * it from. Who decides (docs/operations.md, "Several hosts"): every host judges its own traffic;
 * a step passes by the first host whose window passes (the others' stale writes lose their
 * compare and they adopt the winner's); a breach on any host rolls every host back, written on
 * top of a concurrent step of the same run rather than lost. A rollback or an abort takes
 * traffic off the candidate here at once, before etcd has it; a step or a resume needs etcd.
 */
import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import type { RolloutIR, RuleIR, SnapshotIR } from '../compiler/ir.js'
import type { WorkerMetricsReport } from '../runtime/telemetry/request-metrics.js'
import { ROLLOUT_FULL, RolloutShare, rolloutShareAt } from '../shared/shared-state.js'
import { log } from '../shared/log.js'
import { judge, numbersOf, variantCounters, windowOf, type VariantCounters, type WindowNumbers } from './rollout-guards.js'
import {
  commandRecord, heldAt, newerConfig, passRecord, rollbackRecord, shareOf, startRecord,
  type RolloutCommand, type RolloutDecision, type RolloutPhase, type RolloutRecord, type RolloutStore, type Stamp, type StoredRollout,
} from './rollout-state.js'

export type { RolloutCommand, RolloutDecision, RolloutPhase } from './rollout-state.js'

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
  /** With a shared store (etcd): where the state lives and the revision this host last saw. */
  readonly shared?: {
    readonly key: string
    /** The stored revision this host's state is (or was derived from); null before the store answered. */
    readonly revision: string | null
    /** False while a decision made here (a rollback, an abort) waits for the store. */
    readonly stored: boolean
    readonly run: number
    readonly host: string
  }
}

/** Each writer of a record's next state retries on the record that won, or gives way (undefined). */
type Again = (fresh: RolloutRecord) => RolloutRecord | undefined

interface Live {
  readonly id: string
  readonly table: string
  readonly rule: string
  readonly ro: RolloutIR
  readonly weights: readonly { readonly name: string; readonly weight: number }[]
  readonly fingerprint: string
  readonly cell: RolloutShare
  rec: RolloutRecord
  /** The config version this host runs the rule on. */
  configVersion: string
  /** Shared: the revision `rec` was derived from ('0': none stored); undefined until synced with the store. */
  rev?: string
  /** Shared: a rollback or abort applied here that etcd does not have yet, and how to redo it on the record that won. */
  unstored?: Again
  /** Shared: the stored record is from a newer config than this host's; it writes nothing until its reload. */
  behind?: string
  /** This host's counters when its window opened (at the first reading of the step). */
  window?: { readonly candidate: VariantCounters; readonly baseline: VariantCounters }
  last?: { readonly candidate: WindowNumbers; readonly baseline: WindowNumbers }
  waitingFor?: string
  /** Shared: store writes and watch events of one rollout, one at a time. */
  queue: Promise<unknown>
}

export interface RolloutsOptions {
  readonly cells: Int32Array
  /** Every worker's metrics report; readings with fewer than `workers()` replies are skipped. */
  readonly query: () => Promise<Map<number, WorkerMetricsReport>>
  readonly workers: () => number
  readonly now?: () => number
  /** Share the state with other hosts (etcd); without it the schedule is this process's own. */
  readonly store?: RolloutStore
  /** Names this host in shared decisions. Default `<hostname>:<pid>`. */
  readonly host?: string
  /** How long apply() waits for the store before the workers get the snapshot. Default 2000 ms. */
  readonly syncTimeoutMs?: number
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

const RULE_CHANGED = 'the rule changed, so its rollout starts again'
const errorText = (e: unknown) => (e as Error)?.message ?? String(e)

export class Rollouts {
  private readonly live = new Map<string, Live>()
  private timer: NodeJS.Timeout | undefined
  private reading = false
  private closed = false
  private metricsOn = true
  private readonly now: () => number
  private readonly store: RolloutStore | undefined
  private readonly host: string

  constructor(private readonly opts: RolloutsOptions) {
    this.now = opts.now ?? Date.now
    this.store = opts.store
    this.host = opts.host ?? `${hostname()}:${process.pid}`
    this.store?.watch((id, stored) => {
      const l = this.live.get(id)
      if (l) void this.serial(l, () => this.observed(l, stored))
    })
  }

  private stamp(): Stamp {
    return { now: this.now(), shared: this.store !== undefined, ...(this.store && { host: this.host }) }
  }

  /**
   * A new snapshot (before it reaches the workers): keeps unchanged rollouts, starts new or changed
   * ones. With a store, resolves once each new one has adopted or written the shared record (or
   * after syncTimeoutMs), so a restarted host's workers start on the shared step.
   */
  apply(ir: SnapshotIR, slots: Record<string, number>): Promise<void> {
    this.metricsOn = ir.telemetry?.metrics.enabled !== false
    const seen = new Set<string>()
    const syncs: Promise<unknown>[] = []
    for (const { id, table, rule, ro, weights } of rolloutRules(ir)) {
      seen.add(id)
      const fingerprint = createHash('sha256').update(JSON.stringify({ ...rule, index: undefined })).digest('hex').slice(0, 16)
      const before = this.live.get(id)
      if (before?.fingerprint === fingerprint) {
        before.configVersion = ir.version
        // Behind a config this host has now passed (it was pushed and undone): the rule's run is written again.
        if (this.store && before.behind !== undefined && newerConfig(before.behind, ir.version) !== true) syncs.push(this.serial(before, () => this.sync(before)))
        continue
      }
      const cell = rolloutShareAt(this.opts.cells, slots[`rollout:${id}`]) ?? RolloutShare.local()
      const rec = startRecord(fingerprint, ir.version, 1, ro.steps, this.stamp(), before ? RULE_CHANGED : undefined)
      const l: Live = { id, table, rule: rule.name, ro, weights, fingerprint, cell, rec, configVersion: ir.version, queue: Promise.resolve() }
      cell.basisPoints = shareOf(rec, ro.steps)
      this.live.set(id, l)
      if (this.store) syncs.push(this.serial(l, () => this.sync(l)))
      else this.announce(l)
    }
    for (const id of [...this.live.keys()]) {
      if (!seen.has(id)) {
        this.live.delete(id)
        log('info', 'rollout removed from the config', { rollout: id })
      }
    }
    this.schedule()
    if (syncs.length === 0) return Promise.resolve()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, this.opts.syncTimeoutMs ?? 2000)))
    return Promise.race([Promise.all(syncs).then(() => {}), timeout]).finally(() => clearTimeout(timer))
  }

  list(): RolloutStatus[] {
    return [...this.live.values()].map((l) => this.describe(l))
  }

  /** Effective weights of a rule (`<table>/<rule>`) under its rollout; undefined without one. */
  effectiveWeights(id: string): Record<string, number> | undefined {
    const l = this.live.get(id)
    return l && effective(l)
  }

  /** pause | resume | abort (rollout-state.ts commandRecord); with a store it is written there, for every host. */
  async command(id: string, what: RolloutCommand): Promise<{ ok: true; rollout: RolloutStatus } | { ok: false; status: number; error: string }> {
    const l = this.live.get(id) ?? [...this.live.values()].find((x) => x.rule === id)
    if (!l) return { ok: false, status: 404, error: `no rollout '${id}' (known: ${[...this.live.keys()].join(', ') || 'none'})` }
    const refuse = (why: string) => ({ ok: false as const, status: 409, error: `rollout ${l.id} is ${l.rec.state.replace('_', ' ')}: ${why}` })
    const plan = (r: RolloutRecord) => commandRecord(r, what, l.ro.steps, this.stamp())
    if (!this.store) {
      const p = plan(l.rec)
      if ('refused' in p) return refuse(p.refused)
      this.take(l, p.next)
      this.announce(l)
    } else {
      const done = await this.serial(l, async () => {
        const p = plan(l.rec)
        if ('refused' in p) return refuse(p.refused)
        const again: Again = (fresh) => { const q = plan(fresh); return 'next' in q ? q.next : undefined }
        let r: 'stored' | 'lost'
        try {
          // An abort takes the candidate's traffic away here at once, like a rollback.
          r = what === 'abort' ? await this.safety(l, p.next, again) : await this.commit(l, p.next, again)
        } catch (e) {
          // An abort stands here and is stored once the store answers; the others changed nothing.
          if (what === 'abort') return undefined
          return { ok: false as const, status: 503, error: `cannot store rollout ${l.id} in ${this.store!.describe(l.id)}: ${errorText(e)}; nothing changed` }
        }
        if (r === 'stored') return undefined
        // Another host's record won; the command is judged on it (and refused if it no longer applies).
        const q = plan(l.rec)
        return refuse('refused' in q ? q.refused : 'another host changed it first; try again')
      })
      if (done) return done
    }
    this.schedule()
    return { ok: true, rollout: this.describe(l) }
  }

  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Stops the schedule and the store's watch (before the source closes the etcd client). */
  async close(): Promise<void> {
    this.closed = true
    this.stop()
    await this.store?.close().catch(() => {})
  }

  /** One reading a quarter step apart (between 100 ms and 1 s) while any rollout runs or has state to store. */
  private schedule(): void {
    const due = [...this.live.values()].filter((l) => l.rec.state === 'running' || (this.store && (l.rev === undefined || l.unstored)))
    if (due.length === 0 || this.timer !== undefined || this.closed) return
    const every = Math.max(100, Math.min(1000, Math.min(...due.map((l) => l.ro.stepMs)) / 4))
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
      if (this.store) await this.catchUp()
      const running = [...this.live.values()].filter((l) => l.rec.state === 'running')
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
        const judgeNow = () => {
          if (l.rec.state !== 'running') return
          const candidate = variantCounters(reports, l.rule, l.ro.candidate)
          const baseline = variantCounters(reports, l.rule, l.ro.baseline)
          if (!l.window) {
            l.window = { candidate, baseline }
            // Local schedule: the step clock starts when the window opens.
            if (l.rec.since === null) l.rec = { ...l.rec, since: at }
            return
          }
          return this.judgeStep(l, at, candidate, baseline)
        }
        await (this.store ? this.serial(l, judgeNow) : judgeNow())
      }
    } catch (e) {
      log('warn', 'rollout reading failed; trying again', { error: errorText(e) })
    } finally {
      this.reading = false
    }
  }

  private async judgeStep(l: Live, at: number, candidateNow: VariantCounters, baselineNow: VariantCounters): Promise<void> {
    const w = l.window!
    const candidate = numbersOf(windowOf(candidateNow, w.candidate))
    const baseline = numbersOf(windowOf(baselineNow, w.baseline))
    l.last = { candidate, baseline }
    const verdict = judge(l.ro.guards, candidate, baseline)
    const s = this.stamp()
    if (verdict.breaches.length > 0) {
      const reason = verdict.breaches.join('; ')
      const next = rollbackRecord(l.rec, l.ro.steps, s, reason, { candidate, baseline })
      if (!this.store) {
        this.take(l, next)
        this.announce(l)
        return
      }
      // A breach is never lost to a step another host passed meanwhile: same run, rolled back on top.
      const run = l.rec.run
      await this.safety(l, next, (fresh) => (fresh.run === run && (fresh.state === 'running' || fresh.state === 'paused') ? rollbackRecord(fresh, l.ro.steps, s, reason, { candidate, baseline }) : undefined))
        .catch(() => {})
      return
    }
    const held = heldAt(l.rec, at)
    if (held < l.ro.stepMs) {
      l.waitingFor = `the step's duration (${Math.round(held)} of ${l.ro.stepMs} ms held)`
      return
    }
    if (!verdict.judged) {
      l.waitingFor = `${l.ro.guards.minRequests} candidate requests in the window (${candidate.requests} so far)`
      return
    }
    if (this.store && (l.rev === undefined || l.behind)) return
    const next = passRecord(l.rec, l.ro.steps, l.ro.stepMs, s, { candidate, baseline })
    if (!this.store) {
      this.take(l, next)
      this.announce(l)
    } else {
      // A stale step loses: another host passed (or stopped) it first, and its record is adopted.
      try {
        if ((await this.commit(l, next, () => undefined)) === 'lost') return
      } catch (e) {
        l.waitingFor = `${this.store.describe(l.id)} to store the next step (${errorText(e)})`
        return
      }
    }
    if (l.rec.state === 'running') l.window = { candidate: candidateNow, baseline: baselineNow }
  }

  // ---- state changes -------------------------------------------------------------------------

  /** Serves `next` here: the share, and a fresh window whenever the run, step or state moved. */
  private take(l: Live, next: RolloutRecord, rev?: string): void {
    const before = l.rec
    l.rec = next
    if (rev !== undefined) l.rev = rev
    l.cell.basisPoints = shareOf(next, l.ro.steps)
    if (before.run !== next.run || before.step !== next.step || before.state !== next.state) {
      l.window = undefined
      l.waitingFor = undefined
    }
    // Another host's resume makes this one judge again.
    if (this.store && next.state === 'running') this.schedule()
  }

  /**
   * Writes `next` (derived from the record at l.rev). Stored: served here. Lost: the winner's
   * record is served unless `again` derives a new next from it, which is written in turn.
   * Throws when the store cannot be reached (nothing changed).
   */
  private async commit(l: Live, next: RolloutRecord, again: Again): Promise<'stored' | 'lost'> {
    const store = this.store!
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await store.write(l.id, next, l.rev ?? '0')
      if (r.ok) {
        this.take(l, next, r.rev)
        l.unstored = undefined
        l.behind = undefined
        this.announce(l)
        return 'stored'
      }
      const fresh = r.current.record
      if (fresh && fresh.fingerprint !== l.fingerprint && newerConfig(fresh.config_version, l.configVersion)) {
        this.fallBehind(l, fresh, r.current.rev)
        return 'lost'
      }
      l.rev = r.current.rev
      // Gone, or an older rule's: this rule's record goes there.
      if (!fresh || fresh.fingerprint !== l.fingerprint) continue
      const retry = again(fresh)
      if (!retry) {
        this.adopt(l, fresh, r.current.rev)
        l.unstored = undefined
        return 'lost'
      }
      next = retry
    }
    throw new Error('the record kept changing under five writes in a row')
  }

  /** A rollback or abort: served here at once, then stored; if etcd cannot take it now, again at the next reading. */
  private async safety(l: Live, next: RolloutRecord, again: Again): Promise<'stored' | 'lost'> {
    this.take(l, next)
    l.unstored = again
    try {
      return await this.commit(l, next, again)
    } catch (e) {
      log('warn', 'rollout decision served here but not stored yet; retrying', { rollout: l.id, store: this.store!.describe(l.id), error: errorText(e) })
      this.schedule()
      throw e
    }
  }

  /** The first contact with the store for a new (or changed) rule: adopt its record, or start the run there. */
  private async sync(l: Live): Promise<void> {
    let cur: StoredRollout
    try {
      cur = await this.store!.read(l.id)
    } catch (e) {
      l.waitingFor = `${this.store!.describe(l.id)} (${errorText(e)}); this host serves its own state until it answers`
      log('warn', 'rollout state cannot be read from the store; serving this host\'s own until it answers', { rollout: l.id, store: this.store!.describe(l.id), error: errorText(e) })
      return
    }
    await this.settle(l, cur)
  }

  private async settle(l: Live, cur: StoredRollout): Promise<void> {
    const stored = cur.record
    if (stored?.fingerprint === l.fingerprint) {
      const redo = l.unstored?.(stored)
      if (redo) {
        l.rev = cur.rev
        await this.commit(l, redo, l.unstored!).catch(() => {})
      } else {
        this.adopt(l, stored, cur.rev)
        l.unstored = undefined
      }
      return
    }
    if (stored && newerConfig(stored.config_version, l.configVersion)) return this.fallBehind(l, stored, cur.rev)
    // Nothing stored, or an older rule's record: this rule's run starts there (after that run).
    l.rev = cur.rev
    const run = (stored?.run ?? 0) + 1
    // A rollback or abort made here before the store answered is what this run's record says.
    const next = l.unstored ? { ...l.rec, run, config_version: l.configVersion } : startRecord(l.fingerprint, l.configVersion, run, l.ro.steps, this.stamp(), stored ? RULE_CHANGED : undefined)
    try {
      await this.commit(l, next, l.unstored ?? (() => undefined))
    } catch (e) {
      l.rev = undefined
      l.waitingFor = `${this.store!.describe(l.id)} (${errorText(e)}); this host serves its own state until it answers`
    }
  }

  /** Retries what the store does not have yet: a first sync, an unstored rollback or abort. */
  private async catchUp(): Promise<void> {
    for (const l of this.live.values()) {
      if (l.rev === undefined) await this.serial(l, () => (l.rev === undefined ? this.sync(l) : undefined))
      else if (l.unstored) await this.serial(l, () => (l.unstored ? this.commit(l, l.rec, l.unstored).catch(() => {}) : undefined))
    }
  }

  /** A record from the store's watch (any host's, this one's included). */
  private async observed(l: Live, stored: StoredRollout): Promise<void> {
    if (this.live.get(l.id) !== l) return
    if (l.rev === undefined || l.unstored) return this.settle(l, stored)
    if (!stored.record) {
      l.rev = '0' // deleted by hand: the next decision writes it again
      return
    }
    if (BigInt(stored.rev) <= BigInt(l.rev)) return
    if (stored.record.fingerprint !== l.fingerprint) {
      if (newerConfig(stored.record.config_version, l.configVersion)) this.fallBehind(l, stored.record, stored.rev)
      return
    }
    this.adopt(l, stored.record, stored.rev)
  }

  /** Serves the stored record; logs the decisions other hosts made since what this host served. */
  private adopt(l: Live, r: RolloutRecord, rev: string): void {
    const known = new Set(l.rec.decisions.map((d) => JSON.stringify(d)))
    const first = l.behind === undefined && l.rev === undefined
    l.behind = undefined
    this.take(l, r, rev)
    if (first && r.decisions.length > 0) {
      log('info', 'rollout state adopted from the store', { rollout: l.id, store: this.store!.describe(l.id), state: r.state, step: `${r.step + 1}/${l.ro.steps.length}`, share_percent: shareOf(r, l.ro.steps) / 100, step_held_ms: Math.round(heldAt(r, this.now())), run: r.run })
      return
    }
    for (const d of r.decisions) {
      if (d.host !== this.host && !known.has(JSON.stringify(d))) log(d.event === 'rolled back' || d.event === 'aborted' ? 'warn' : 'info', `rollout ${d.event} by another host`, { rollout: l.id, host: d.host, share_percent: d.share_percent, ...(d.reason && { reason: d.reason }) })
    }
  }

  private fallBehind(l: Live, r: RolloutRecord, rev: string): void {
    if (l.behind === r.config_version) return
    l.behind = r.config_version
    l.waitingFor = `this host's config (version ${l.configVersion}) to reach version ${r.config_version}, whose rule the stored state is for (rev ${rev})`
    log('warn', 'rollout state in the store is for a newer config; waiting for the reload', { rollout: l.id, config_version: l.configVersion, stored_for: r.config_version })
  }

  private serial<T>(l: Live, fn: () => T | Promise<T>): Promise<T> {
    const run = l.queue.then(fn)
    l.queue = run.catch(() => {})
    return run
  }

  /** The audit line of the decision `l.rec` ends with (shown in /rollouts with the record). */
  private announce(l: Live): void {
    const d = l.rec.decisions[l.rec.decisions.length - 1]
    if (!d) return
    const { event, reason, candidate, baseline } = d
    log(event === 'rolled back' || event === 'aborted' ? 'warn' : 'info', `rollout ${event}`, {
      rollout: l.id, candidate: l.ro.candidate, baseline: l.ro.baseline, share_percent: d.share_percent,
      ...(event !== 'started' && event !== 'resumed' && event !== 'paused' && { step: `${l.rec.step + 1}/${l.ro.steps.length}` }),
      ...(reason && { reason }),
      ...(candidate && { candidate_window: candidate }), ...(baseline && { baseline_window: baseline }),
      ...(this.store && { store: this.store.describe(l.id), run: l.rec.run }),
    })
  }

  private describe(l: Live): RolloutStatus {
    const r = l.rec
    const elapsed = r.state === 'paused' ? r.held_ms : r.state === 'running' && r.since !== null ? heldAt(r, this.now()) : null
    return {
      id: l.id, route_table: l.table, rule: l.rule, candidate: l.ro.candidate, baseline: l.ro.baseline,
      state: r.state, steps: l.ro.steps, step: r.step, share_percent: l.cell.basisPoints / 100, step_duration_ms: l.ro.stepMs,
      step_elapsed_ms: elapsed === null ? null : Math.round(elapsed),
      configured_weights: Object.fromEntries(l.weights.map((c) => [c.name, c.weight])),
      effective_weights: effective(l),
      window: l.last ?? null,
      ...((r.state === 'running' || l.behind) && l.waitingFor && { waiting_for: l.waitingFor }),
      decisions: r.decisions,
      ...(this.store && { shared: { key: this.store.describe(l.id), revision: l.rev ?? null, stored: l.rev !== undefined && !l.unstored, run: r.run, host: this.host } }),
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
