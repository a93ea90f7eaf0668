/**
 * `rate_limit` filter: request, token and concurrency limits, and budgets, checked after identity
 * and routing and before anything reaches a provider. Config: schemas/filters/rate_limit.schema.json.
 *
 * Per request: pick the (tenant, key) pair's limiter (built once per pair, limiter-set.ts), reserve
 * the token estimate and check every rule at once; with Redis, the budget check goes out in the
 * same tick, so limits and budgets cost one round trip together. A refusal answers 429 (503 while
 * Redis is away and failure_mode is closed) and takes nothing. An admitted request carries the
 * rate-limit headers on its answer; when it ends, its reservation is replaced by the provider's
 * reported usage (or released if it got none) and its cost is added to the spend.
 *
 * @example
 * filters:
 *   - name: limits
 *     type: rate_limit
 *     config:
 *       limits:
 *         - { name: free, descriptor: [tenant], tenant_labels: { tier: free }, requests_per_second: 10 }
 * listeners:
 *   - { name: public, port: 8080, route_table: main, filters: [keys, limits] }
 */
import type { Filter, FilterDeps, Identity, LocalReply, RequestContext } from '../types.js'
export type { RateLimitConfig } from '../limits/filter-limits.js'
import { LimiterSet, type PairLimiter } from '../limits/limiter-set.js'
import { compileFilterLimits, type RateLimitConfig } from '../limits/filter-limits.js'
import { BudgetLedger, budgetNanos, type BudgetOwner, type BudgetVerdict } from '../limits/budget.js'
import { estimateAsk } from '../limits/token-estimate.js'
import { rateLimitHeaders } from '../limits/headers.js'
import { budgetReply, refusedReply } from '../limits/replies.js'
import type { Admitted, Decision, Lease, RequestFacts, TokenAsk } from '../limits/types.js'
import { log } from '../../shared/log.js'

/** What an admitted request carries to its end. */
interface Admission {
  readonly decision: Admitted | undefined
  readonly owner: BudgetOwner | undefined
}

const NO_TOKENS: TokenAsk = Object.freeze({ inputTokens: 0, outputTokens: 0 })
const EMPTY = Buffer.alloc(0)
let instances = 0

export function create(config: RateLimitConfig, deps: FilterDeps): Filter {
  const scope = config.scope ?? 'local'
  if (scope === 'global' && deps.redis === undefined) throw new Error('scope: global needs the top-level redis block')
  const failureMode = config.failure_mode ?? 'open'
  const ownLimits = config.tenant_limits !== false
  const prefix = deps.redis?.keyPrefix ?? 'sy:'
  const limits = compileFilterLimits(config.limits ?? [], prefix)
  const redis = deps.redis === undefined ? undefined : deps.stores.redis(deps.redis)
  const set = new LimiterSet(limits, { scope, failureMode, prefix, table: deps.stores.limitTable(), redis, ownLimits, identity: deps.identity })
  // Spend is recorded whenever there is a Redis to keep it in (the admin API shows it), budgets checked where declared.
  const ledger = redis !== undefined && ownLimits ? new BudgetLedger(redis, { prefix, failureMode, onError: (e) => log('debug', 'budget call failed', { error: String((e as Error)?.message ?? e) }) }) : undefined
  const prices = deps.prices
  const defaultOutput = config.default_max_output_tokens ?? 1024
  const owners = new Map<string, BudgetOwner>()
  const state = `rate_limit#${instances++}`

  const ownerOf = (id: Identity): BudgetOwner => {
    const k = id.keyId === undefined ? id.tenant : id.tenant + '\n' + id.keyId
    let o = owners.get(k)
    if (o === undefined) {
      const tenantBudget = budgetNanos(deps.identity?.tenants.get(id.tenant)?.budget)
      const keyBudget = id.keyId === undefined ? undefined : budgetNanos(deps.identity?.keyQuotas.get(id.keyId)?.budget)
      owners.set(k, (o = { tenant: id.tenant, ...(id.keyId !== undefined && { keyId: id.keyId }), ...(tenantBudget && { tenantBudget }), ...(keyBudget && { keyBudget }) }))
    }
    return o
  }

  const settle = (ctx: RequestContext, d: Decision | undefined, b: BudgetVerdict | undefined, owner: BudgetOwner | undefined): LocalReply | undefined => {
    if (d !== undefined && !d.ok) return refusedReply(ctx.protocol, d, Date.now())
    if (b !== undefined && !b.ok) {
      d?.lease.finish()
      return budgetReply(ctx.protocol, b)
    }
    // The client may have gone while Redis answered: nothing will finish the lease then.
    if (ctx.finished) return void d?.lease.finish()
    const admission: Admission = { decision: d, owner }
    ;(ctx.filterState ??= {})[state] = admission
    return undefined
  }

  return {
    name: 'rate_limit',
    onRequest(ctx: RequestContext) {
      const identity = ctx.head.identity
      const pair: PairLimiter | null = set.limiterFor(identity)
      const owner = ledger !== undefined && identity !== undefined ? ownerOf(identity) : undefined
      const checksBudget = owner !== undefined && (owner.tenantBudget !== undefined || owner.keyBudget !== undefined)
      if (pair === null && owner === undefined) return undefined
      let d: Decision | Promise<Decision> | undefined
      if (pair !== null) {
        const facts: RequestFacts = { tenant: identity?.tenant, keyId: identity?.keyId, model: ctx.head.model, route: ctx.route?.name, headers: ctx.head.headers }
        d = pair.limiter.check(facts, pair.countsTokens ? estimateAsk(ctx.body ?? EMPTY, ctx.json, defaultOutput) : NO_TOKENS)
      }
      const b = checksBudget ? ledger!.check(owner!) : undefined
      if (b === undefined && !(d instanceof Promise)) return settle(ctx, d, undefined, owner)
      return Promise.all([d, b]).then(([dd, bb]) => settle(ctx, dd, bb, owner))
    },
    onResponse(ctx: RequestContext) {
      const a = ctx.filterState?.[state] as Admission | undefined
      const d = a?.decision
      if (d === undefined) return
      const out = ctx.responseHeaders
      // The provider's own rate-limit headers describe the gateway's provider key, not this caller: ours replace them.
      for (let i = out.length - 1; i >= 0; i--) if (isRateLimitHeader(out[i][0])) out.splice(i, 1)
      rateLimitHeaders(ctx.protocol, d, ctx.protocol === 'anthropic' ? Date.now() : 0, out)
    },
    onComplete(ctx: RequestContext) {
      const a = ctx.filterState?.[state] as Admission | undefined
      if (a === undefined) return
      const usage = ctx.usage
      finishQuietly(a.decision?.lease, usage)
      if (a.owner === undefined || usage === undefined || prices === undefined) return
      const model = ctx.servedModel ?? ctx.head.model
      const cost = model === undefined ? undefined : prices.costOf(model, usage) ?? (ctx.head.model !== undefined ? prices.costOf(ctx.head.model, usage) : undefined)
      if (cost !== undefined && cost > 0) void ledger!.record(a.owner, cost)
    },
  }
}

function isRateLimitHeader(name: string): boolean {
  return name.startsWith('x-ratelimit-') || name.startsWith('anthropic-ratelimit-')
}

function finishQuietly(lease: Lease | undefined, usage: RequestContext['usage']): void {
  if (lease === undefined) return
  const r = lease.finish(usage === undefined ? undefined : { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens })
  if (r instanceof Promise) r.catch(() => {})
}

