/**
 * `scope: local` limits: exact across the worker threads of one process, because every worker
 * updates the same cells of one SharedArrayBuffer with atomics (so `--workers N` does not
 * multiply a limit). Nothing here is distributed; cross-host limits are redis-limiter.ts.
 *
 * Algorithm: GCRA (the generic cell rate algorithm), which is a token bucket of `limit` refilled
 * continuously at `limit / period`, kept as a single number — the theoretical arrival time (TAT),
 * the moment the bucket would be full again. One 64-bit cell per rule means one compare-and-swap
 * per check, no lock and no window boundary where twice the limit gets through (as fixed windows
 * allow); the providers themselves describe their limits as buckets. A request of cost c is
 * admitted when max(TAT, now) + c·T − now ≤ period (T = period / limit); then TAT moves to that
 * value. Over any interval of length D at most limit + limit·D/period units are admitted.
 *
 * Why a hash table and not main-thread slots: limit keys come from requests (tenant, model, header
 * values), so they cannot be listed when a snapshot is built. Workers claim cells themselves in an
 * open-addressed table keyed by a seeded 64-bit hash of the key (seed in the buffer's header, so
 * every thread hashes alike). Cells are never freed: a key whose TAT has passed costs nothing but
 * its 16 bytes. When the table is full, a new key follows `whenFull`.
 */
import { randomInt } from 'node:crypto'
import {
  reportSlot, ruleSuffix, tighter, tokensFor,
  type CompiledLimit, type Decision, type Lease, type LimitRule, type Limiter, type RateReport, type RequestFacts, type TokenAsk, type TokenUse,
} from './types.js'

const HEADER_BIGINTS = 2 // seed, spare
const MAX_PROBES = 64
const NS_PER_MS = 1_000_000
/** Retry hint for a full concurrency limit: nothing tells when a slot frees. */
export const CONCURRENCY_RETRY_MS = 1000

/** Cells keyed by limit key, shared by every thread that maps the same buffer. */
export class LimitTable {
  private readonly cells: BigInt64Array
  private readonly mask: number
  private readonly seedA: number
  private readonly seedB: number

  /** Main thread: the buffer to hand each worker (16 bytes per cell; `capacity` a power of two). */
  static createBuffer(capacity = 65536): SharedArrayBuffer {
    if (capacity < 2 || (capacity & (capacity - 1)) !== 0) throw new Error(`limit table capacity ${capacity} is not a power of two`)
    const buffer = new SharedArrayBuffer((HEADER_BIGINTS + capacity * 2) * 8)
    const seed = new BigInt64Array(buffer, 0, 1)
    seed[0] = BigInt(randomInt(1, 2 ** 47)) * 65536n + BigInt(randomInt(0, 65536))
    return buffer
  }

  /** A table private to this thread (dry builds, tests): same semantics, nothing shared. */
  static local(capacity = 4096): LimitTable {
    return new LimitTable(LimitTable.createBuffer(capacity))
  }

  constructor(buffer: SharedArrayBuffer) {
    const all = new BigInt64Array(buffer)
    this.cells = all.subarray(HEADER_BIGINTS)
    this.mask = this.cells.length / 2 - 1
    const seed = all[0]
    this.seedA = Number(seed & 0xffffffffn) | 0
    this.seedB = Number((seed >> 32n) & 0xffffffffn) | 0
  }

  get capacity(): number {
    return this.mask + 1
  }

  /** Index of the value cell for `key`, claiming a free cell if it has none (unless `claim` is false); -1 when there is none. */
  cellOf(key: string, claim = true): number {
    // Two seeded 32-bit FNV-1a style hashes over UTF-16 units make the 64-bit identity.
    let a = this.seedA ^ 0x811c9dc5
    let b = this.seedB ^ 0x01000193
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x5bd1e995)
      b ^= b >>> 15
    }
    a ^= a >>> 16
    a = Math.imul(a, 0x85ebca6b)
    a ^= a >>> 13
    let id = (BigInt(a >>> 0) << 32n) | BigInt(b >>> 0)
    if (id === 0n) id = 1n
    id = BigInt.asIntN(64, id)
    let i = (b >>> 0) & this.mask
    for (let probe = 0; probe < MAX_PROBES; probe++, i = (i + 1) & this.mask) {
      const at = i * 2
      const cur = Atomics.load(this.cells, at)
      if (cur === id) return at + 1
      if (cur === 0n) {
        if (!claim) return -1
        const prev = Atomics.compareExchange(this.cells, at, 0n, id)
        if (prev === 0n || prev === id) return at + 1
      }
    }
    return -1
  }

  load(cell: number): bigint {
    return Atomics.load(this.cells, cell)
  }

  /** Atomically replaces `expected` by `next`; true when it did. */
  swap(cell: number, expected: bigint, next: bigint): boolean {
    return Atomics.compareExchange(this.cells, cell, expected, next) === expected
  }

  add(cell: number, delta: bigint): bigint {
    return Atomics.add(this.cells, cell, delta)
  }
}

/** The monotonic clock every thread of the process shares (CLOCK_MONOTONIC, in ns). */
const nowNs = (): bigint => process.hrtime.bigint()

/** A rule with its constants precomputed (nanoseconds), built once per snapshot. */
interface Prepared {
  readonly rule: LimitRule
  readonly suffix: string
  readonly slot: keyof RateReport | undefined
  /** Window length in ns (the bucket's tolerance); 0 for concurrent rules. */
  readonly periodNs: bigint
  readonly nsPerUnit: number
  /** The limit as float64 bits, kept in the bucket's rate cell (see keepConsumed). */
  readonly limitBits: bigint
  /** The TAT increment of one request (ns): requests rules add it on every check. */
  readonly requestInc: bigint
}

const f64 = new Float64Array(1)
const i64 = new BigInt64Array(f64.buffer)
const bitsOf = (x: number): bigint => ((f64[0] = x), i64[0])
const numberOf = (bits: bigint): number => ((i64[0] = bits), f64[0])
/** Suffix of a bucket's rate cell: the limit its TAT was last reckoned in. */
const RATE = '#limit'

function prepare(rule: LimitRule): Prepared {
  if (!(rule.limit > 0 && Number.isFinite(rule.limit))) throw new Error(`limit ${rule.limit} must be a positive number`)
  if (rule.kind === 'concurrent') return { rule, suffix: ruleSuffix(rule), slot: undefined, periodNs: 0n, nsPerUnit: 0, limitBits: 0n, requestInc: 0n }
  if (!(rule.periodMs > 0)) throw new Error(`period ${rule.periodMs} ms must be positive`)
  const periodNs = Math.round(rule.periodMs * NS_PER_MS)
  const nsPerUnit = periodNs / rule.limit
  return { rule, suffix: ruleSuffix(rule), slot: reportSlot(rule), periodNs: BigInt(periodNs), nsPerUnit, limitBits: bitsOf(rule.limit), requestInc: BigInt(Math.round(nsPerUnit)) }
}

/** One applied step of a check, kept so a later refusal can undo it and the lease can finish it. */
interface Taken {
  readonly p: Prepared
  readonly cell: number
  /** Units reserved (1 for a request, the reservation for tokens, 1 slot for concurrency). */
  readonly units: number
  /** The TAT increment that reserved them (ns); 0n for concurrency. */
  readonly inc: bigint
}

/** Behaviour for a key that finds the table full: admit it unlimited, or refuse it as unavailable. */
export type WhenFull = 'open' | 'closed'

/** Memoised cell lists kept per limiter before the memo starts afresh (limit keys can come from request headers). */
const MEMO_KEYS = 4096

export class LocalLimiter implements Limiter {
  private readonly limits: readonly { readonly limit: CompiledLimit; readonly rules: readonly Prepared[] }[]
  private fullLogged = false
  /**
   * Per limit key, the value and rate cells of each of its limit's rules (`[cell, rateCell, …]`,
   * rate -1 for concurrency rules). A key's cells never move (the table never rehashes or frees),
   * so each thread hashes a key once instead of four times per request.
   */
  private readonly cellsByKey = new Map<string, Int32Array>()

  /**
   * `namespace` separates this limiter's cells from others in the same table (the fallback of a
   * global limiter uses its own). `onFull` is told once when the table first refuses a key.
   */
  constructor(
    limits: readonly CompiledLimit[],
    private readonly table: LimitTable,
    private readonly opts: { readonly whenFull: WhenFull; readonly namespace?: string; readonly onFull?: () => void } = { whenFull: 'closed' },
  ) {
    this.limits = limits.map((limit) => {
      const suffixes = new Set<string>()
      const rules = limit.rules.map((r) => {
        const p = prepare(r)
        if (suffixes.has(p.suffix)) throw new Error(`limit '${limit.name}' has two ${r.kind} rules for the same period`)
        suffixes.add(p.suffix)
        return p
      })
      return { limit, rules }
    })
  }

  ready(): boolean {
    return true
  }

  check(facts: RequestFacts, ask: TokenAsk): Decision {
    const now = nowNs()
    const taken: Taken[] = []
    const report: RateReport = {}
    const ns = this.opts.namespace ?? ''
    for (const { limit, rules } of this.limits) {
      const key = limit.keyOf(facts)
      if (key === undefined) continue
      const cells = this.cellsByKey.get(key) ?? this.findCells(key, rules)
      for (let j = 0; j < rules.length; j++) {
        const p = rules[j]
        const cell = cells !== undefined ? cells[2 * j] : this.table.cellOf(ns + key + p.suffix)
        if (cell < 0) {
          if (!this.fullLogged) {
            this.fullLogged = true
            this.opts.onFull?.()
          }
          if (this.opts.whenFull === 'open') continue
          this.undo(taken)
          return { ok: false, reason: 'unavailable', limit: limit.name, retryAfterMs: CONCURRENCY_RETRY_MS, ...report }
        }
        const r = p.rule
        if (r.kind === 'concurrent') {
          if (Number(this.table.add(cell, 1n)) >= r.limit) {
            this.table.add(cell, -1n)
            this.undo(taken)
            return { ok: false, reason: 'limited', limit: limit.name, kind: 'concurrent', retryAfterMs: CONCURRENCY_RETRY_MS, ...report }
          }
          taken.push({ p, cell, units: 1, inc: 0n })
          continue
        }
        const units = r.kind === 'requests' ? 1 : tokensFor(r.count, ask)
        if (units > r.limit) {
          this.undo(taken)
          return { ok: false, reason: 'too_large', limit: limit.name, kind: r.kind, retryAfterMs: r.periodMs, ...report }
        }
        const inc = r.kind === 'requests' ? p.requestInc : BigInt(Math.round(units * p.nsPerUnit))
        this.keepConsumed(p, cell, cells !== undefined ? cells[2 * j + 1] : this.table.cellOf(ns + key + p.suffix + RATE), now)
        for (;;) {
          const old = this.table.load(cell)
          const tat = old > now ? old : now
          const next = tat + inc
          if (next - now > p.periodNs) {
            this.undo(taken)
            report[p.slot!] = tighter(report[p.slot!], statusOf(p, tat - now))
            return { ok: false, reason: 'limited', limit: limit.name, kind: r.kind, retryAfterMs: Math.ceil(Number(next - now - p.periodNs) / NS_PER_MS), ...report }
          }
          if (this.table.swap(cell, old, next)) {
            report[p.slot!] = tighter(report[p.slot!], statusOf(p, next - now))
            break
          }
        }
        taken.push({ p, cell, units, inc })
      }
    }
    return { ok: true, lease: taken.length === 0 ? NO_LEASE : new LocalLease(this.table, taken), ...report }
  }

  /**
   * The TAT counts consumed units in this limit's time per unit. When a reload changed the limit
   * (the key stays: the rule suffix holds no number), the rate cell still names the old one; the
   * thread that swaps it rescales the TAT so the consumed level is kept, as Redis keeps it
   * (redis-limiter.ts). Threads still on the old snapshot swap it back the same way, so a rolling
   * change loses nothing. A full table skips this: the bucket then reads in the new limit.
   */
  private keepConsumed(p: Prepared, cell: number, rateCell: number, now: bigint): void {
    if (rateCell < 0) return
    const was = this.table.load(rateCell)
    if (was === p.limitBits || !this.table.swap(rateCell, was, p.limitBits) || was === 0n) return
    const scale = numberOf(was) / p.rule.limit
    for (;;) {
      const old = this.table.load(cell)
      if (old <= now) return
      if (this.table.swap(cell, old, now + BigInt(Math.round(Number(old - now) * scale)))) return
    }
  }

  /** Claims the cells of every rule of one limit key; memoised only when the table had room for all of them. */
  private findCells(key: string, rules: readonly Prepared[]): Int32Array | undefined {
    const ns = this.opts.namespace ?? ''
    const cells = new Int32Array(rules.length * 2)
    for (let j = 0; j < rules.length; j++) {
      const p = rules[j]
      cells[2 * j] = this.table.cellOf(ns + key + p.suffix)
      cells[2 * j + 1] = p.rule.kind === 'concurrent' ? -1 : this.table.cellOf(ns + key + p.suffix + RATE)
      if (cells[2 * j] < 0 || (p.rule.kind !== 'concurrent' && cells[2 * j + 1] < 0)) return undefined
    }
    if (this.cellsByKey.size >= MEMO_KEYS) this.cellsByKey.clear()
    this.cellsByKey.set(key, cells)
    return cells
  }

  /** Gives back what a check took before a later rule refused it. Conservative: never admits more than without the undo. */
  private undo(taken: readonly Taken[]): void {
    for (const t of taken) this.table.add(t.cell, t.p.rule.kind === 'concurrent' ? -1n : -t.inc)
  }

  /** Current standing of every rule of `limit` for these facts, without taking anything (admin API, headers on cached answers). */
  peek(facts: RequestFacts): RateReport {
    const now = nowNs()
    const report: RateReport = {}
    const ns = this.opts.namespace ?? ''
    for (const { limit, rules } of this.limits) {
      const key = limit.keyOf(facts)
      if (key === undefined) continue
      for (const p of rules) {
        if (!p.slot) continue
        const cell = this.table.cellOf(ns + key + p.suffix, false)
        if (cell < 0) continue
        const tat = this.table.load(cell)
        report[p.slot] = tighter(report[p.slot], statusOf(p, tat > now ? tat - now : 0n))
      }
    }
    return report
  }
}

/** Standing of a bucket whose TAT lies `aheadNs` in the future. */
function statusOf(p: Prepared, aheadNs: bigint): { limit: number; remaining: number; resetMs: number } {
  const ahead = Number(aheadNs)
  const free = (Number(p.periodNs) - ahead) / p.nsPerUnit
  return { limit: p.rule.limit, remaining: Math.max(0, Math.floor(free + 1e-9)), resetMs: Math.ceil(ahead / NS_PER_MS) }
}

const NO_LEASE: Lease = { finish() {} }

class LocalLease implements Lease {
  private done = false
  constructor(private readonly table: LimitTable, private readonly taken: readonly Taken[]) {}

  finish(used?: TokenUse): void {
    if (this.done) return
    this.done = true
    for (const t of this.taken) {
      const r = t.p.rule
      if (r.kind === 'concurrent') {
        this.table.add(t.cell, -1n)
        continue
      }
      if (r.kind !== 'tokens') continue
      const actual = used ? tokensFor(r.count, used) : 0
      if (actual === t.units) continue
      const delta = BigInt(Math.round((actual - t.units) * t.p.nsPerUnit))
      if (delta < 0n) {
        // A refund: the TAT moves back; below `now` it means a full bucket, so nothing is over-given.
        this.table.add(t.cell, delta)
        continue
      }
      // More was used than reserved: charge it from max(TAT, now), as a new request would be.
      for (;;) {
        const old = this.table.load(t.cell)
        const now = nowNs()
        const base = old > now ? old : now
        if (this.table.swap(t.cell, old, base + delta)) break
      }
    }
  }
}
