/**
 * A rollout's state as one record: what rollouts.ts keeps per rollout, and what hosts on one etcd
 * prefix share (sources/etcd-rollout-state.ts stores it under `<prefix>.state/rollouts/`). The
 * record holds everything a host needs to serve and resume the schedule: the state, the step, the
 * step clock (time held before `since`, and the wall-clock ms it last started), the run (bumped
 * each time the rollout starts from its first step, so evidence from one run never acts on the
 * next), and the decisions with their numbers.
 *
 * The store is a compare-and-set register per rollout: a write names the revision it was derived
 * from and loses if the record moved on since (the answer carries the record that won).
 */
import type { WindowNumbers } from './rollout-guards.js'

export type RolloutPhase = 'running' | 'paused' | 'rolled_back' | 'aborted' | 'complete'

export interface RolloutDecision {
  readonly at: string
  readonly event: 'started' | 'step passed' | 'rolled back' | 'complete' | 'paused' | 'resumed' | 'aborted'
  /** The candidate's share after the decision, percent of the pair. */
  readonly share_percent: number
  readonly reason?: string
  readonly candidate?: WindowNumbers
  readonly baseline?: WindowNumbers
  /** The host that decided (shared state only): `<hostname>:<pid>`. */
  readonly host?: string
}

export interface RolloutRecord {
  /** The rule it belongs to (a hash of the rule, its position aside): a changed rule starts afresh. */
  readonly fingerprint: string
  /** The config version the run was started on (etcd: the prefix's revision). */
  readonly config_version: string
  readonly run: number
  readonly state: RolloutPhase
  readonly step: number
  /** Step time held before `since` (what a pause keeps). */
  readonly held_ms: number
  /** Epoch ms the step clock last started; null while it stands (paused, ended, or not yet opened). */
  readonly since: number | null
  readonly decisions: readonly RolloutDecision[]
}

/** A record as stored, with its revision ('0': no record). */
export interface StoredRollout {
  readonly record: RolloutRecord | undefined
  readonly rev: string
}

export type RolloutWrite = { readonly ok: true; readonly rev: string } | { readonly ok: false; readonly current: StoredRollout }

/** Where hosts share rollout records. Rollout ids are `<route table>/<rule>`. */
export interface RolloutStore {
  /** For /rollouts and logs, e.g. `etcd http://…:2379 /switchyard/prod/.state/rollouts/main/chat`. */
  describe(id: string): string
  read(id: string): Promise<StoredRollout>
  /** Writes `record` if the stored revision is still `expectRev` ('0': only if there is none). */
  write(id: string, record: RolloutRecord, expectRev: string): Promise<RolloutWrite>
  /** Every change (from any host, this one included), and every stored record again after a reconnect. */
  watch(onChange: (id: string, stored: StoredRollout) => void): void
  close(): Promise<void>
}

/** The candidate's share a record serves, in basis points of the pair. */
export function shareOf(r: RolloutRecord, steps: readonly number[]): number {
  return r.state === 'rolled_back' || r.state === 'aborted' ? 0 : steps[Math.min(r.step, steps.length - 1)] * 100
}

const PHASES: readonly string[] = ['running', 'paused', 'rolled_back', 'aborted', 'complete']

/** A stored value, if it is a record (a hand-edited or foreign value is not trusted). */
export function parseRecord(text: string): RolloutRecord | undefined {
  try {
    const v = JSON.parse(text) as Partial<RolloutRecord>
    const int = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0
    if (typeof v.fingerprint !== 'string' || typeof v.config_version !== 'string' || !int(v.run) || !int(v.step) || !PHASES.includes(v.state as string)) return undefined
    if (typeof v.held_ms !== 'number' || v.held_ms < 0 || !(v.since === null || typeof v.since === 'number') || !Array.isArray(v.decisions)) return undefined
    return v as RolloutRecord
  } catch {
    return undefined
  }
}

/** etcd versions are revisions: a newer config has a higher one. Undefined when they do not compare. */
export function newerConfig(a: string, b: string): boolean | undefined {
  return /^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) > Number(b) : undefined
}

const MAX_DECISIONS = 50

/** How a transition stamps the record. */
export interface Stamp {
  readonly now: number
  /**
   * Shared state: the step clock starts at the decision (every host reads it from the record).
   * Local: it starts at the next reading, when the window opens (what the schedule always did).
   */
  readonly shared: boolean
  readonly host?: string
}

type Numbers = { readonly candidate?: WindowNumbers; readonly baseline?: WindowNumbers }

function decided(r: RolloutRecord, change: Partial<RolloutRecord>, steps: readonly number[], s: Stamp, event: RolloutDecision['event'], reason?: string, n: Numbers = {}): RolloutRecord {
  const next = { ...r, ...change }
  const d: RolloutDecision = {
    at: new Date(s.now).toISOString(), event, share_percent: shareOf(next, steps) / 100,
    ...(reason && { reason }), ...(n.candidate && { candidate: n.candidate }), ...(n.baseline && { baseline: n.baseline }), ...(s.host && { host: s.host }),
  }
  return { ...next, decisions: [...r.decisions, d].slice(-MAX_DECISIONS) }
}

/** Step time held at `now`. */
export function heldAt(r: RolloutRecord, now: number): number {
  return r.held_ms + (r.state === 'running' && r.since !== null ? now - r.since : 0)
}

/** The first step of a run: a new rule (run 1, or the one after the stored run of an older rule). */
export function startRecord(fingerprint: string, configVersion: string, run: number, steps: readonly number[], s: Stamp, reason?: string): RolloutRecord {
  const empty: RolloutRecord = { fingerprint, config_version: configVersion, run, state: 'running', step: 0, held_ms: 0, since: null, decisions: [] }
  return decided(empty, { since: s.shared ? s.now : null }, steps, s, 'started', reason)
}

export function rollbackRecord(r: RolloutRecord, steps: readonly number[], s: Stamp, reason: string, n: Numbers): RolloutRecord {
  return decided(r, { state: 'rolled_back', held_ms: 0, since: null }, steps, s, 'rolled back', reason, n)
}

/** The step held long enough with the guards holding: the next step, or complete after the last. */
export function passRecord(r: RolloutRecord, steps: readonly number[], stepMs: number, s: Stamp, n: Numbers): RolloutRecord {
  if (r.step >= steps.length - 1) return decided(r, { state: 'complete', held_ms: 0, since: null }, steps, s, 'complete', 'every step passed; edit the rule to make the new weights permanent', n)
  // The window of the next step opens now, for the host that passes it: its clock starts here.
  return decided(r, { step: r.step + 1, held_ms: 0, since: s.now }, steps, s, 'step passed', `guards held for ${stepMs} ms; now ${steps[r.step + 1]}%`, n)
}

export type RolloutCommand = 'pause' | 'resume' | 'abort'

/**
 * An operator's command on a record: pause holds the share and the step clock; resume continues
 * a paused rollout, or starts a rolled-back or aborted one again from its first step (a new run);
 * abort sets 0 %. A command that does not apply says why.
 */
export function commandRecord(r: RolloutRecord, what: RolloutCommand, steps: readonly number[], s: Stamp): { next: RolloutRecord } | { refused: string } {
  if (what === 'pause') {
    if (r.state !== 'running') return { refused: 'only a running rollout can be paused' }
    return { next: decided(r, { state: 'paused', held_ms: heldAt(r, s.now), since: null }, steps, s, 'paused') }
  }
  if (what === 'resume') {
    if (r.state === 'running' || r.state === 'complete') return { refused: 'nothing to resume' }
    const since = s.shared ? s.now : null
    // The window opens again: what happened while paused is not judged.
    const change: Partial<RolloutRecord> = r.state === 'paused' ? { state: 'running', since } : { state: 'running', step: 0, held_ms: 0, run: r.run + 1, since }
    return { next: decided(r, change, steps, s, 'resumed') }
  }
  if (r.state === 'aborted' || r.state === 'rolled_back') return { refused: 'the candidate is already at 0 %' }
  return { next: decided(r, { state: 'aborted', held_ms: 0, since: null }, steps, s, 'aborted', 'by an operator (admin API)') }
}
