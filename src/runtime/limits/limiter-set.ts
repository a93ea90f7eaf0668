/**
 * The limiters of one rate_limit filter, one per (tenant, key) pair it has seen: the filter's own
 * limits whose `tenant_labels` the tenant carries, plus the tenant's and the key's own rates. Tiers
 * are data this way — a label picks the limits once, when the pair's limiter is built, and the
 * request path never tests a label. Built lazily (keys can number in the thousands) and kept for
 * the snapshot's life; the buckets themselves live in the limit table or Redis and outlive it.
 */
import type { Identity } from '../types.js'
import type { IdentityTables } from '../identity/tables.js'
import type { LimitTable } from './local-limiter.js'
import { LocalLimiter } from './local-limiter.js'
import type { RedisConnection } from './redis-connection.js'
import { RedisLimiter, type FailureMode } from './redis-limiter.js'
import { compileDescriptor, type DescriptorPart } from './descriptor.js'
import { rulesOf } from './rates.js'
import type { CompiledLimit, LimitRule, Limiter } from './types.js'
import type { RatesIR } from '../../compiler/ir.js'
import { log } from '../../shared/log.js'

/** One of the filter's limits, compiled. */
export interface FilterLimit {
  readonly limit: CompiledLimit
  /** Applies only to tenants carrying all these labels; undefined: to every request. */
  readonly tenantLabels: Readonly<Record<string, string>> | undefined
  /** What its buckets are keyed by (the admin API can show a bucket only when that is the tenant or key alone). */
  readonly parts: readonly DescriptorPart[]
}

/** A pair's limiter and whether any of its rules counts tokens (only then is the body estimated). */
export interface PairLimiter {
  readonly limiter: Limiter
  readonly countsTokens: boolean
}

export interface LimiterSetOptions {
  readonly scope: 'local' | 'global'
  readonly failureMode: FailureMode
  /** Key prefix (the redis block's, or a local one). */
  readonly prefix: string
  readonly table: LimitTable
  readonly redis: RedisConnection | undefined
  /** Whether tenants' and keys' own rates apply. */
  readonly ownLimits: boolean
  readonly identity: IdentityTables | undefined
}

/** Names of the tenants' and keys' own limits: '@' cannot start a configured limit's name, so they never share a bucket with one. */
const TENANT_LIMIT = '@tenant'
const KEY_LIMIT = '@key'

export class LimiterSet {
  private readonly pairs = new Map<string, PairLimiter | null>()
  private readonly anonymous: PairLimiter | null
  private fullLogged = false

  constructor(private readonly limits: readonly FilterLimit[], private readonly opts: LimiterSetOptions) {
    this.anonymous = this.build(limits.filter((l) => l.tenantLabels === undefined).map((l) => l.limit))
  }

  /** The limiter for a request of this identity; null when no limit applies to it. */
  limiterFor(identity: Identity | undefined): PairLimiter | null {
    if (identity === undefined) return this.anonymous
    const id = identity.keyId === undefined ? identity.tenant : identity.tenant + '\n' + identity.keyId
    let p = this.pairs.get(id)
    if (p === undefined) this.pairs.set(id, (p = this.forPair(identity.tenant, identity.keyId)))
    return p
  }

  /** Every limit a (tenant, key) pair is held to, with what it is keyed by (the admin API's usage view). */
  limitsOf(tenant: string, keyId: string | undefined): FilterLimit[] {
    const labels = this.opts.identity?.tenants.get(tenant)?.labels ?? {}
    const out = this.limits.filter((l) => matches(l.tenantLabels, labels))
    if (!this.opts.ownLimits) return out
    const own = this.opts.identity?.tenants.get(tenant)?.limits
    if (own !== undefined) out.push(this.own(TENANT_LIMIT, 'tenant', own))
    const keyOwn = keyId === undefined ? undefined : this.opts.identity?.keyQuotas.get(keyId)?.limits
    if (keyOwn !== undefined) out.push(this.own(KEY_LIMIT, 'key', keyOwn))
    return out
  }

  private forPair(tenant: string, keyId: string | undefined): PairLimiter | null {
    return this.build(this.limitsOf(tenant, keyId).map((l) => l.limit))
  }

  private own(name: string, part: 'tenant' | 'key', rates: RatesIR): FilterLimit {
    return { limit: { name, keyOf: compileDescriptor(name, [part], this.opts.prefix), rules: rulesOf(rates) }, tenantLabels: undefined, parts: [part] }
  }

  private build(limits: readonly CompiledLimit[]): PairLimiter | null {
    if (limits.length === 0) return null
    const rules: LimitRule[] = limits.flatMap((l) => l.rules)
    const onFull = () => {
      if (this.fullLogged) return
      this.fullLogged = true
      log('error', 'the local limit table is full: new limit keys are refused (503) until the process restarts')
    }
    const local = new LocalLimiter(limits, this.opts.table, { whenFull: 'closed', onFull })
    if (this.opts.scope === 'local') return { limiter: local, countsTokens: rules.some((r) => r.kind === 'tokens') }
    // The fallback has its own namespace: a Redis outage starts each host on full local buckets.
    const fallback = new LocalLimiter(limits, this.opts.table, { whenFull: 'open', namespace: 'fallback|' })
    const limiter = new RedisLimiter(limits, this.opts.redis!, {
      failureMode: this.opts.failureMode,
      fallback,
      onError: (e) => log('debug', 'redis limit reconcile failed', { error: String((e as Error)?.message ?? e) }),
    })
    return { limiter, countsTokens: rules.some((r) => r.kind === 'tokens') }
  }
}

export function matches(want: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (want === undefined) return true
  for (const k in want) if (labels[k] !== want[k]) return false
  return true
}
