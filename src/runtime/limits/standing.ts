/**
 * Where a tenant's or key's buckets stand now, for the admin API: read-only, nothing is taken.
 * Local buckets are read from the process's limit table (the main thread maps the same
 * SharedArrayBuffer as the workers); global ones from Redis with one read-only script per hash
 * tag, on Redis's clock like the checks.
 */
import { hashTagOf } from './descriptor.js'
import type { LimitTable } from './local-limiter.js'
import { RedisScript, type RedisConnection } from './redis-connection.js'
import { ruleSuffix, type CompiledLimit, type LimitRule, type RequestFacts } from './types.js'

export interface RuleStanding {
  readonly rule: string
  readonly limit: number
  /** Units left now (requests, tokens or free slots). */
  readonly remaining: number
  /** Until the bucket is full again (0 for concurrency). */
  readonly reset_ms: number
}

export interface LimitStanding {
  readonly limit: string
  readonly rules: readonly RuleStanding[]
}

const NS_PER_MS = 1_000_000

/** How the schema names a rule, for the admin output. */
export function ruleName(r: LimitRule): string {
  if (r.kind === 'concurrent') return 'concurrent_requests'
  const unit = { 1000: 'second', 60000: 'minute', 3600000: 'hour', 86400000: 'day' }[r.periodMs] ?? `${r.periodMs}ms`
  const what = r.kind === 'requests' ? 'requests' : r.count === 'total' ? 'tokens' : `${r.count}_tokens`
  return `${what}_per_${unit}`
}

export function localStandings(limits: readonly CompiledLimit[], table: LimitTable, facts: RequestFacts): LimitStanding[] {
  const now = process.hrtime.bigint()
  const out: LimitStanding[] = []
  for (const l of limits) {
    const key = l.keyOf(facts)
    if (key === undefined) continue
    out.push({
      limit: l.name,
      rules: l.rules.map((r) => {
        const cell = table.cellOf(key + ruleSuffix(r), false)
        const v = cell < 0 ? 0n : table.load(cell)
        if (r.kind === 'concurrent') return { rule: ruleName(r), limit: r.limit, remaining: Math.max(0, r.limit - Number(v)), reset_ms: 0 }
        // The cell is the bucket's theoretical arrival time (GCRA): how far it lies ahead is what is used.
        const ahead = v > now ? Number(v - now) : 0
        const periodNs = r.periodMs * NS_PER_MS
        const remaining = Math.max(0, Math.floor(((periodNs - ahead) * r.limit) / periodNs + 1e-9))
        return { rule: ruleName(r), limit: r.limit, remaining, reset_ms: Math.ceil(ahead / NS_PER_MS) }
      }),
    })
  }
  return out
}

/** KEYS: rule keys. ARGV per key: kind (b|c), limit, period ms. Returns per key: remaining, reset ms. */
const PEEK = new RedisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local out = {}
for i = 1, #KEYS do
  local kind, cap, period = ARGV[3*i-2], tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  if kind == 'b' then
    local v = redis.call('HMGET', KEYS[i], 'l', 't')
    local l = tonumber(v[1])
    if not l then l = cap else l = l + (now - tonumber(v[2])) * cap / period end
    if l > cap then l = cap end
    out[#out+1] = math.floor(l + 1e-9)
    out[#out+1] = math.ceil((cap - l) * period / cap)
  else
    local used = redis.call('ZCOUNT', KEYS[i], now, '+inf')
    out[#out+1] = cap - used
    out[#out+1] = 0
  end
end
return out
`)

export async function redisStandings(limits: readonly CompiledLimit[], redis: RedisConnection, facts: RequestFacts): Promise<LimitStanding[]> {
  const applied = limits.flatMap((l) => {
    const key = l.keyOf(facts)
    return key === undefined ? [] : [{ l, key }]
  })
  const byTag = new Map<string, typeof applied>()
  for (const a of applied) {
    const tag = hashTagOf(a.key)
    byTag.set(tag, [...(byTag.get(tag) ?? []), a])
  }
  const results = new Map<CompiledLimit, RuleStanding[]>()
  await Promise.all([...byTag.values()].map(async (group) => {
    const keys: string[] = []
    const args: (string | number)[] = []
    for (const { l, key } of group) for (const r of l.rules) {
      keys.push(key + ruleSuffix(r))
      args.push(r.kind === 'concurrent' ? 'c' : 'b', r.limit, r.kind === 'concurrent' ? 0 : r.periodMs)
    }
    const v = (await redis.evalScript(PEEK, keys, args)) as number[]
    let i = 0
    for (const { l } of group) {
      results.set(l, l.rules.map((r) => {
        const s = { rule: ruleName(r), limit: r.limit, remaining: Math.max(0, Number(v[i])), reset_ms: Number(v[i + 1]) }
        i += 2
        return s
      }))
    }
  }))
  return applied.map(({ l }) => ({ limit: l.name, rules: results.get(l)! }))
}
