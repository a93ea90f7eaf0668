/**
 * `scope: global` limits: the same semantics as local-limiter.ts (a bucket of `limit` refilled
 * continuously over `period`, concurrency slots), held in Redis so every host shares them.
 *
 * A check is one Lua script over all the rule keys of one hash tag (descriptor.ts puts every key
 * of a tenant in one slot): it refills, checks every rule and, only if all pass, reserves them —
 * atomically, so concurrent checks from any number of hosts never admit more than the limits.
 * The clock is Redis's own (TIME), so hosts with skewed clocks agree. Keys of different tags (a
 * tenant limit next to a global per-model one) are checked by one script call per tag, sent in
 * the same write; if one refuses, the others' reservations are given back.
 *
 * State: a bucket is a hash {l: level, t: ms, c: the limit it was stored under, so a reload that
 * changes only the number keeps the consumed level}, expiring when it would be full again (a missing
 * key is a full bucket); concurrency is a sorted set of lease ids scored by expiry, so a host that
 * dies holding slots frees them after `leaseTtlMs`.
 *
 * When Redis cannot answer in time: `failure_mode: open` admits through `fallback` (a local
 * limiter with the same limits, so each host stays bounded at the configured rate), `closed`
 * refuses with `unavailable` (the filter answers 503).
 */
import { randomBytes } from 'node:crypto'
import { hashTagOf } from './descriptor.js'
import { RedisScript, type RedisConnection } from './redis-connection.js'
import { CONCURRENCY_RETRY_MS } from './local-limiter.js'
import {
  reportSlot, ruleSuffix, tighter, tokensFor,
  type CompiledLimit, type Decision, type Lease, type LimitRule, type Limiter, type RateReport, type RequestFacts, type TokenAsk, type TokenUse,
} from './types.js'

const PRELUDE = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local function level_of(key, cap, period)
  local v = redis.call('HMGET', key, 'l', 't', 'c')
  local l = tonumber(v[1])
  if not l then return cap end
  -- c: the limit the level was stored under. Refill at that rate, then keep what was consumed
  -- (c - l) under a changed limit (a reload); a bucket without c was stored under this limit.
  local c = tonumber(v[3]) or cap
  l = l + (now - tonumber(v[2])) * c / period
  if l > c then l = c end
  l = l + cap - c
  if l > cap then l = cap end
  return l
end
local function store(key, l, cap, period)
  if l >= cap then redis.call('DEL', key) return end
  redis.call('HSET', key, 'l', string.format('%.17g', l), 't', string.format('%.17g', now), 'c', string.format('%.17g', cap))
  redis.call('PEXPIRE', key, math.ceil((cap - l) * period / cap) + 1000)
end
`

/**
 * KEYS: one per rule. ARGV: lease id, lease ttl ms, then per rule: kind (b = bucket, c =
 * concurrency), limit, period ms, cost. Returns {code, retry ms, failed rule, then per rule
 * remaining and reset ms}; code 1 admitted, 0 limited, -1 cost above the whole limit.
 */
const CHECK = new RedisScript(`${PRELUDE}
local lease, ttl = ARGV[1], tonumber(ARGV[2])
local n = #KEYS
local levels = {}
local out = {1, 0, 0}
for i = 1, n do
  local kind, cap, period, cost = ARGV[4*i-1], tonumber(ARGV[4*i]), tonumber(ARGV[4*i+1]), tonumber(ARGV[4*i+2])
  if kind == 'b' then
    if cost > cap then return {-1, 0, i} end
    local l = level_of(KEYS[i], cap, period)
    levels[i] = l
    if cost > l then
      out[1] = 0
      local wait = math.ceil((cost - l) * period / cap)
      if wait > out[2] then out[2] = wait; out[3] = i end
    end
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    local used = redis.call('ZCARD', KEYS[i])
    levels[i] = cap - used
    if used >= cap and out[1] == 1 then out[1] = 0; out[3] = i end
  end
end
for i = 1, n do
  local kind, cap, period, cost = ARGV[4*i-1], tonumber(ARGV[4*i]), tonumber(ARGV[4*i+1]), tonumber(ARGV[4*i+2])
  local l = levels[i]
  if kind == 'b' then
    if out[1] == 1 then
      l = l - cost
      store(KEYS[i], l, cap, period)
    end
    out[#out+1] = math.floor(l + 1e-9)
    out[#out+1] = math.ceil((cap - l) * period / cap)
  else
    if out[1] == 1 then
      redis.call('ZADD', KEYS[i], now + ttl, lease)
      redis.call('PEXPIRE', KEYS[i], ttl + 1000)
      l = l - 1
    end
    out[#out+1] = l
    out[#out+1] = 0
  end
end
return out
`)

/**
 * Ends leases — of one request, or of every request of one hash tag that finished in the same
 * turn of the event loop (FinishBatch). KEYS: rule keys (a key may repeat). ARGV per key: kind,
 * limit, period ms, units to give back (negative: charge more), lease id. Refunds never fill a
 * bucket past its limit.
 */
const FINISH = new RedisScript(`${PRELUDE}
for i = 1, #KEYS do
  local kind, cap, period, back, lease = ARGV[5*i-4], tonumber(ARGV[5*i-3]), tonumber(ARGV[5*i-2]), tonumber(ARGV[5*i-1]), ARGV[5*i]
  if kind == 'b' then
    if back ~= 0 then
      local l = level_of(KEYS[i], cap, period) + back
      if l > cap then l = cap end
      store(KEYS[i], l, cap, period)
    end
  else
    redis.call('ZREM', KEYS[i], lease)
  end
end
return 1
`)

export type FailureMode = 'open' | 'closed'

export interface RedisLimiterOptions {
  readonly failureMode: FailureMode
  /** Required for `open`: admits while Redis is away, at the same limits, within this process. */
  readonly fallback?: Limiter
  /** How long a concurrency slot outlives a host that died holding it. Default 10 min (a long stream). */
  readonly leaseTtlMs?: number
  /** Told about a failed reconcile or release (the state then heals when buckets refill and leases expire). */
  readonly onError?: (e: unknown) => void
}

/** One rule of one request, resolved to its key and cost. */
interface Step {
  readonly limitName: string
  readonly rule: LimitRule
  readonly units: number
}

/** The steps of one hash tag: one script call. */
interface Group {
  readonly tag: string
  readonly keys: string[]
  readonly steps: Step[]
}

let leaseSeq = 0
const LEASE_PREFIX = randomBytes(6).toString('base64url') + ':'

export class RedisLimiter implements Limiter {
  private readonly leaseTtlMs: number

  constructor(
    private readonly limits: readonly CompiledLimit[],
    private readonly redis: RedisConnection,
    private readonly opts: RedisLimiterOptions,
  ) {
    if (opts.failureMode === 'open' && !opts.fallback) throw new Error("failure_mode 'open' needs a fallback limiter")
    this.leaseTtlMs = opts.leaseTtlMs ?? 600_000
    for (const l of limits) {
      const seen = new Set<string>()
      for (const r of l.rules) {
        if (!(r.limit > 0 && Number.isFinite(r.limit))) throw new Error(`limit '${l.name}': ${r.limit} must be a positive number`)
        if (r.kind !== 'concurrent' && !(r.periodMs > 0)) throw new Error(`limit '${l.name}': period must be positive`)
        const s = ruleSuffix(r)
        if (seen.has(s)) throw new Error(`limit '${l.name}' has two ${r.kind} rules for the same period`)
        seen.add(s)
      }
    }
  }

  ready(): boolean {
    return this.redis.ready()
  }

  async check(facts: RequestFacts, ask: TokenAsk): Promise<Decision> {
    const groups = this.plan(facts, ask)
    if (groups.length === 0) return { ok: true, lease: NO_LEASE }
    const lease = LEASE_PREFIX + (leaseSeq++).toString(36)
    const settled = await Promise.allSettled(groups.map((g) => this.redis.evalScript(CHECK, g.keys, argsOf(g, lease, this.leaseTtlMs))))
    const report: RateReport = {}
    let refusal: Decision | undefined
    let failure: unknown
    const admitted: Group[] = []
    settled.forEach((s, gi) => {
      const g = groups[gi]
      if (s.status === 'rejected') return void (failure ??= s.reason)
      const r = s.value as number[]
      if (r.length > 3) g.steps.forEach((st, i) => {
        const slot = reportSlot(st.rule)
        if (slot) report[slot] = tighter(report[slot], { limit: st.rule.limit, remaining: Math.max(0, r[3 + 2 * i]), resetMs: r[4 + 2 * i] })
      })
      if (r[0] === 1) return void admitted.push(g)
      const failed = g.steps[r[2] - 1]
      const wait = failed.rule.kind === 'concurrent' ? CONCURRENCY_RETRY_MS : r[0] === -1 ? failed.rule.periodMs : r[1]
      if (!refusal || (!refusal.ok && wait > refusal.retryAfterMs)) {
        refusal = { ok: false, reason: r[0] === -1 ? 'too_large' : 'limited', limit: failed.limitName, kind: failed.rule.kind, retryAfterMs: wait }
      }
    })
    if (refusal || failure !== undefined) {
      // Give back what the other tags reserved; this request goes no further (or to the fallback).
      for (const g of admitted) void this.finishGroup(g, lease, undefined, true)
    }
    if (failure !== undefined) {
      if (this.opts.failureMode === 'open') {
        const d = await this.opts.fallback!.check(facts, ask)
        return d.ok ? { ...d, degraded: true } : d
      }
      return { ok: false, reason: 'unavailable', limit: groups[0].steps[0].limitName, retryAfterMs: 1000 }
    }
    if (refusal) return { ...report, ...refusal }
    return { ok: true, lease: new RedisLease(this, groups, lease), ...report }
  }

  /** Resolves keys and costs for every rule that applies, grouped by hash tag. */
  private plan(facts: RequestFacts, ask: TokenAsk): Group[] {
    const groups: Group[] = []
    for (const l of this.limits) {
      const key = l.keyOf(facts)
      if (key === undefined) continue
      const tag = hashTagOf(key)
      // Almost always one tag per request (the tenant's): a linear search beats a Map here.
      let g = groups.find((x) => x.tag === tag)
      if (!g) groups.push((g = { tag, keys: [], steps: [] }))
      for (const rule of l.rules) {
        g.keys.push(key + ruleSuffix(rule))
        g.steps.push({ limitName: l.name, rule, units: rule.kind === 'tokens' ? tokensFor(rule.count, ask) : 1 })
      }
    }
    return groups
  }

  /** `undo`: the check is being taken back whole (requests too), not finished. */
  finishGroup(g: Group, lease: string, used: TokenUse | undefined, undo: boolean): Promise<void> {
    let batch: FinishBatch | undefined
    g.steps.forEach((st, i) => {
      const r = st.rule
      let back = 0
      if (r.kind === 'requests') back = undo ? 1 : 0
      else if (r.kind === 'tokens') back = st.units - (used && !undo ? tokensFor(r.count, used) : 0)
      if (r.kind !== 'concurrent' && back === 0) return
      batch ??= this.batchFor(g.tag)
      batch.add(g.keys[i], r.kind === 'concurrent' ? 'c' : 'b', r.limit, r.kind === 'concurrent' ? 0 : r.periodMs, back, lease)
    })
    return batch === undefined ? Promise.resolve() : batch.done
  }

  private readonly batches = new Map<string, FinishBatch>()

  /** The open batch of this hash tag, sent once the current turn of the event loop is over. */
  private batchFor(tag: string): FinishBatch {
    let b = this.batches.get(tag)
    if (b === undefined || b.full) {
      const batch = (b = new FinishBatch())
      this.batches.set(tag, batch)
      setImmediate(() => {
        if (this.batches.get(tag) === batch) this.batches.delete(tag)
        this.redis.evalScript(FINISH, batch.keys, batch.args).then(() => batch.settle(), (e) => {
          this.opts.onError?.(e)
          batch.settle()
        })
      })
    }
    return b
  }
}

/**
 * Finishes of one hash tag gathered over one turn of the event loop: under load many requests end
 * together, and one script call for all of them costs the client and Redis a fraction of one each.
 * Finishing is off the request path, so the wait of up to one turn costs nobody anything.
 */
class FinishBatch {
  readonly keys: string[] = []
  readonly args: (string | number)[] = []
  private resolve!: () => void
  readonly done = new Promise<void>((r) => (this.resolve = r))

  get full(): boolean {
    return this.keys.length >= FINISH_BATCH_KEYS
  }

  add(key: string, kind: 'b' | 'c', limit: number, periodMs: number, back: number, lease: string): void {
    this.keys.push(key)
    this.args.push(kind, limit, periodMs, back, lease)
  }

  settle(): void {
    this.resolve()
  }
}

/** Keys per batched finish: a bounded script run, so one call never holds Redis long. */
const FINISH_BATCH_KEYS = 256

function argsOf(g: Group, lease: string, ttl: number): (string | number)[] {
  const args: (string | number)[] = [lease, ttl]
  for (const st of g.steps) {
    const r = st.rule
    if (r.kind === 'concurrent') args.push('c', r.limit, 0, 1)
    else args.push('b', r.limit, r.periodMs, st.units)
  }
  return args
}

const NO_LEASE: Lease = { finish() {} }

class RedisLease implements Lease {
  private done = false
  constructor(private readonly limiter: RedisLimiter, private readonly groups: readonly Group[], private readonly id: string) {}

  finish(used?: TokenUse): Promise<void> {
    if (this.done) return Promise.resolve()
    this.done = true
    return Promise.all(this.groups.map((g) => this.limiter.finishGroup(g, this.id, used, false))).then(() => {})
  }
}
