/**
 * Budgets: what requests cost (a price table per model) and how much each tenant and key has
 * spent per UTC day and month, in Redis so every host sees the same spend.
 *
 * Money is integer nanos (10⁻⁹ of the price table's currency, as in Google's Money type): a
 * token at $0.075 per million is 75 nanos, so per-request rounding is below a billionth of a
 * dollar, and INCRBY stays exact (int64: 9.2 × 10⁹ currency units per key and period).
 *
 * Check, then record: `check()` reads the spend keys (one MGET: all keys of a tenant share its
 * hash tag) before forwarding and refuses with `insufficient_quota` once a budget is spent;
 * `record()` adds a finished request's cost. A budget can therefore be overshot by the cost of the
 * requests in flight when it runs out — never by a request that started after.
 */
import { encodeKeyPart } from './descriptor.js'
import type { RedisConnection } from './redis-connection.js'
import type { FailureMode } from './redis-limiter.js'
import type { NormalizedUsage as Usage } from '../providers/translate/types.js'

/** Prices per million tokens, in currency units (e.g. USD). */
export interface ModelPrice {
  readonly input: number
  readonly output: number
  /** Cached input (prompt-cache reads); default: the input price. */
  readonly cachedInput?: number
}

export interface PriceEntry extends ModelPrice {
  /** An exact model name, or a glob with `*` (e.g. `gpt-4o-mini-*`); exact names win, then globs in order. */
  readonly model: string
}

export const NANOS_PER_UNIT = 1_000_000_000

export interface PriceTable {
  priceOf(model: string): ModelPrice | undefined
  /** Cost of one answer in nanos; undefined for a model the table does not price. */
  costOf(model: string, usage: Usage): number | undefined
}

export function compilePriceTable(entries: readonly PriceEntry[]): PriceTable {
  const exact = new Map<string, ModelPrice>()
  const globs: { re: RegExp; price: ModelPrice }[] = []
  for (const e of entries) {
    for (const [k, v] of Object.entries({ input: e.input, output: e.output, cachedInput: e.cachedInput ?? e.input })) {
      if (!(v >= 0 && Number.isFinite(v))) throw new Error(`price of '${e.model}': ${k} ${v} must be a non-negative number`)
    }
    if (!e.model.includes('*')) {
      if (!exact.has(e.model)) exact.set(e.model, e)
      continue
    }
    const re = new RegExp(`^${e.model.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
    globs.push({ re, price: e })
  }
  const priceOf = (model: string): ModelPrice | undefined => exact.get(model) ?? globs.find((g) => g.re.test(model))?.price
  return {
    priceOf,
    costOf(model, usage) {
      const p = priceOf(model)
      if (!p) return undefined
      // Usage follows OpenAI: inputTokens includes the cached ones (translate/usage.ts).
      const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens)
      const perMillion = (usage.inputTokens - cached) * p.input + cached * (p.cachedInput ?? p.input) + usage.outputTokens * p.output
      return Math.round(perMillion * (NANOS_PER_UNIT / 1_000_000))
    },
  }
}

export type BudgetPeriod = 'day' | 'month'

/** A config budget (currency units) in the ledger's nanos. */
export function budgetNanos(b: { readonly day?: number; readonly month?: number } | undefined): BudgetLimits | undefined {
  if (b === undefined) return undefined
  return { ...(b.day !== undefined && { day: Math.round(b.day * NANOS_PER_UNIT) }), ...(b.month !== undefined && { month: Math.round(b.month * NANOS_PER_UNIT) }) }
}

/** Budgets in nanos per period; a missing period is unlimited. */
export interface BudgetLimits {
  readonly day?: number
  readonly month?: number
}

export interface BudgetOwner {
  readonly tenant: string
  readonly keyId?: string
  readonly tenantBudget?: BudgetLimits
  readonly keyBudget?: BudgetLimits
}

export type BudgetVerdict =
  | { readonly ok: true }
  /** `insufficient_quota` (429) names the budget that is spent; `unavailable` (503) is Redis away with failure_mode closed. */
  | { readonly ok: false; readonly reason: 'insufficient_quota' | 'unavailable'; readonly scope?: 'tenant' | 'key'; readonly period?: BudgetPeriod }

export interface SpendLine {
  readonly period: BudgetPeriod
  /** `2025-01-15` or `2025-01`. */
  readonly window: string
  readonly spentNanos: number
  readonly budgetNanos: number | undefined
  readonly remainingNanos: number | undefined
}

export interface Spend {
  readonly tenant: readonly SpendLine[]
  readonly key?: readonly SpendLine[]
}

const DAY_MS = 86_400_000

/** The UTC windows `now` falls in, and when each key may go (a period after the window ends, so the admin API can show the last one). */
function windowsOf(now: number): { day: string; month: string; dayExpiresAt: number; monthExpiresAt: number } {
  const d = new Date(now)
  const y = d.getUTCFullYear()
  const m = d.getUTCMonth()
  const mm = String(m + 1).padStart(2, '0')
  const dd = String(d.getUTCDate()).padStart(2, '0')
  const dayEnd = Date.UTC(y, m, d.getUTCDate() + 1)
  const monthEnd = Date.UTC(y, m + 1, 1)
  return { day: `${y}-${mm}-${dd}`, month: `${y}-${mm}`, dayExpiresAt: dayEnd + DAY_MS, monthExpiresAt: monthEnd + 31 * DAY_MS }
}

export class BudgetLedger {
  /**
   * `prefix`: the deployment's key prefix (as for the limit descriptors). `failureMode`: what
   * check() answers while Redis is away — `open` admits (spend then goes unrecorded for that
   * time, as recording fails too), `closed` refuses as unavailable.
   */
  constructor(
    private readonly redis: RedisConnection,
    private readonly opts: { readonly prefix: string; readonly failureMode: FailureMode; readonly onError?: (e: unknown) => void },
  ) {
    if (/[{}]/.test(opts.prefix)) throw new Error(`key prefix '${opts.prefix}' may not contain '{' or '}'`)
  }

  /** Spend keys, in a fixed order: tenant day, tenant month[, key day, key month]. */
  keysOf(owner: { tenant: string; keyId?: string }, now: number): string[] {
    const w = windowsOf(now)
    const base = `${this.opts.prefix}{${encodeKeyPart(owner.tenant)}}:spend:`
    const keys = [`${base}t:d:${w.day}`, `${base}t:m:${w.month}`]
    if (owner.keyId !== undefined) {
      const k = encodeKeyPart(owner.keyId)
      keys.push(`${base}k:${k}:d:${w.day}`, `${base}k:${k}:m:${w.month}`)
    }
    return keys
  }

  /** Before forwarding: is any budget of this tenant or key spent? One round trip; skipped when no budget applies. */
  async check(owner: BudgetOwner, now = Date.now()): Promise<BudgetVerdict> {
    const limits = [owner.tenantBudget?.day, owner.tenantBudget?.month, owner.keyBudget?.day, owner.keyBudget?.month]
    if (limits.every((l) => l === undefined)) return OK
    let spent: (string | null)[]
    try {
      spent = await this.redis.run((c) => c.mget(...this.keysOf(owner, now)))
    } catch (e) {
      this.opts.onError?.(e)
      return this.opts.failureMode === 'open' ? OK : { ok: false, reason: 'unavailable' }
    }
    for (let i = 0; i < spent.length; i++) {
      const limit = limits[i]
      if (limit !== undefined && Number(spent[i] ?? 0) >= limit) {
        return { ok: false, reason: 'insufficient_quota', scope: i < 2 ? 'tenant' : 'key', period: i % 2 === 0 ? 'day' : 'month' }
      }
    }
    return OK
  }

  /** After an answer: adds its cost (nanos) to every period of the tenant and the key, atomically. Never rejects. */
  async record(owner: { tenant: string; keyId?: string }, nanos: number, now = Date.now()): Promise<void> {
    if (!(nanos > 0)) return
    const amount = Math.round(nanos)
    const w = windowsOf(now)
    const keys = this.keysOf(owner, now)
    try {
      await this.redis.run((c) => {
        const m = c.multi()
        keys.forEach((k, i) => m.incrby(k, amount).pexpireat(k, i % 2 === 0 ? w.dayExpiresAt : w.monthExpiresAt))
        return m.exec()
      })
    } catch (e) {
      this.opts.onError?.(e)
    }
  }

  /** For the admin API: spend and what is left in the current day and month. Rejects when Redis cannot answer. */
  async spend(owner: BudgetOwner, now = Date.now()): Promise<Spend> {
    const w = windowsOf(now)
    const values = await this.redis.run((c) => c.mget(...this.keysOf(owner, now)))
    const line = (i: number, budget: number | undefined): SpendLine => {
      const spentNanos = Number(values[i] ?? 0)
      return { period: i % 2 === 0 ? 'day' : 'month', window: i % 2 === 0 ? w.day : w.month, spentNanos, budgetNanos: budget, remainingNanos: budget === undefined ? undefined : Math.max(0, budget - spentNanos) }
    }
    const tenant = [line(0, owner.tenantBudget?.day), line(1, owner.tenantBudget?.month)]
    return owner.keyId === undefined ? { tenant } : { tenant, key: [line(2, owner.keyBudget?.day), line(3, owner.keyBudget?.month)] }
  }
}

const OK: BudgetVerdict = { ok: true }
