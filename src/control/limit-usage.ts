/**
 * The admin API's view of limits and spend (`/tenants/<name>`, `/keys/<id>`), and Redis health
 * for `/ready`. Runs on the main thread: local buckets are read from the process's limit table
 * (the same SharedArrayBuffer the workers update), global buckets and spend from Redis through
 * the main thread's own connection to the current `redis` block. Read-only: nothing is taken.
 */
import type { FilterIR, SnapshotIR } from '../compiler/ir.js'
import { LimitTable } from '../runtime/limits/local-limiter.js'
import { RedisConnection } from '../runtime/limits/redis-connection.js'
import { compileFilterLimits, type RateLimitConfig } from '../runtime/limits/filter-limits.js'
import { LimiterSet } from '../runtime/limits/limiter-set.js'
import { localStandings, redisStandings, type LimitStanding } from '../runtime/limits/standing.js'
import { BudgetLedger, NANOS_PER_UNIT, budgetNanos, type SpendLine } from '../runtime/limits/budget.js'
import { compileIdentity } from '../runtime/identity/tables.js'
import type { RequestFacts } from '../runtime/limits/types.js'

export interface LimitView {
  readonly filter: string
  readonly scope: 'local' | 'global'
  readonly limit: string
  readonly keyed_by: readonly string[]
  /** Where each rule's bucket stands; absent when the bucket is per model, route or header value (one per value seen). */
  readonly standing?: LimitStanding['rules']
  readonly error?: string
}

export class LimitUsage {
  private readonly table: LimitTable
  private redis: { key: string; conn: RedisConnection } | undefined

  constructor(buffer: SharedArrayBuffer) {
    this.table = new LimitTable(buffer)
  }

  /** The main thread's connection to `ir.redis` (opened when first needed, replaced when the block changes). */
  connection(ir: SnapshotIR): RedisConnection | undefined {
    if (ir.redis === undefined) {
      this.dropRedis()
      return undefined
    }
    const key = JSON.stringify(ir.redis)
    if (this.redis?.key !== key) {
      this.dropRedis()
      this.redis = { key, conn: new RedisConnection({ ...ir.redis, name: 'redis' }) }
    }
    return this.redis.conn
  }

  /**
   * For /ready: whether Redis answers, and whether the gateway is useless without it (a global
   * limit with failure_mode closed refuses everything). With failure_mode open, Redis being away
   * is reported but does not make the host unready: taking every host out of its load balancer
   * because Redis died would turn a degraded gateway into an outage.
   */
  health(ir: SnapshotIR): { ready: boolean; required: boolean } | undefined {
    const conn = this.connection(ir)
    if (conn === undefined) return undefined
    const required = rateLimitFilters(ir).some((f) => f.config.scope === 'global' && f.config.failure_mode === 'closed')
    return { ready: conn.ready(), required }
  }

  async describe(ir: SnapshotIR, tenant: string, keyId: string | undefined): Promise<{ usage: LimitView[]; spend?: unknown }> {
    const identity = compileIdentity(ir.tenants, ir.keys)
    const prefix = ir.redis?.keyPrefix ?? 'sy:'
    const conn = this.connection(ir)
    const facts: RequestFacts = { tenant, keyId, model: undefined, route: undefined, headers: {} }
    const views: LimitView[] = []
    for (const f of rateLimitFilters(ir)) {
      const scope = f.config.scope ?? 'local'
      const set = new LimiterSet(compileFilterLimits(f.config.limits ?? [], prefix), {
        scope, failureMode: f.config.failure_mode ?? 'open', prefix, table: this.table, redis: conn, ownLimits: f.config.tenant_limits !== false, identity,
      })
      for (const l of set.limitsOf(tenant, keyId)) {
        const keyed_by = l.parts.map((p) => (typeof p === 'string' ? p : `header:${p.header}`))
        const base = { filter: f.name, scope, limit: l.limit.name, keyed_by }
        if (l.parts.some((p) => p !== 'tenant' && p !== 'key') || (keyId === undefined && l.parts.includes('key'))) {
          views.push(base)
          continue
        }
        try {
          const s = scope === 'global' ? await redisStandings([l.limit], conn!, facts) : localStandings([l.limit], this.table, facts)
          views.push({ ...base, standing: s[0]?.rules ?? [] })
        } catch (e) {
          views.push({ ...base, error: `redis: ${(e as Error).message}` })
        }
      }
    }
    if (conn === undefined) return { usage: views }
    const t = identity.tenants.get(tenant)
    const k = keyId === undefined ? undefined : identity.keyQuotas.get(keyId)
    const ledger = new BudgetLedger(conn, { prefix, failureMode: 'closed' })
    try {
      const spend = await ledger.spend({ tenant, ...(keyId !== undefined && { keyId }), tenantBudget: budgetNanos(t?.budget), keyBudget: budgetNanos(k?.budget) })
      return { usage: views, spend: { tenant: spend.tenant.map(units), ...(spend.key && { key: spend.key.map(units) }) } }
    } catch (e) {
      return { usage: views, spend: { error: `redis: ${(e as Error).message}` } }
    }
  }

  async close(): Promise<void> {
    this.dropRedis()
  }

  private dropRedis(): void {
    const old = this.redis
    this.redis = undefined
    if (old) void old.conn.close()
  }
}

function rateLimitFilters(ir: SnapshotIR): (FilterIR & { config: RateLimitConfig })[] {
  return ir.filters.filter((f) => f.type === 'rate_limit') as (FilterIR & { config: RateLimitConfig })[]
}


/** Spend in currency units (nanos are the ledger's exact form). */
function units(l: SpendLine) {
  const u = (n: number | undefined) => (n === undefined ? null : n / NANOS_PER_UNIT)
  return { period: l.period, window: l.window, spent: u(l.spentNanos), budget: u(l.budgetNanos), remaining: u(l.remainingNanos) }
}
