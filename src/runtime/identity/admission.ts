/**
 * What every auth filter does once it knows the tenant, and what it answers when it does not: the
 * model check (403), the identity put on the request for the route match (an identified caller's
 * credential headers never go upstream: upstream/headers.ts drops them), and the failure counting
 * shared by the filters.
 *
 * hot path -- change with care: an admitted request allocates its Identity and nothing else.
 */
import type { Protocol } from '../../protocols.js'
import type { FilterDeps, Identity, LocalReply, RequestContext } from '../types.js'
import type { AuthFailureLimitConfig, AuthFailureLimiter } from './auth-failures.js'
import type { CompiledTenant, IdentityTables } from './tables.js'
import type { ModelAccess } from './model-access.js'
import { allowsModel } from './model-access.js'
import { stripHeaders } from './credentials.js'
import { peerOf } from './peer.js'
import { identityReply, IdentityMessages } from './auth-replies.js'
import { durationMs } from '../../shared/units.js'
import { log } from '../../shared/log.js'

/** A reply per caller protocol, built once per snapshot. */
export type ByProtocol = Readonly<Record<Protocol, LocalReply>>

export function byProtocol(make: (p: Protocol) => LocalReply): ByProtocol {
  return { openai: make('openai'), anthropic: make('anthropic') }
}

/** The 401s every auth filter answers: no credential, a refused one. */
export const MISSING: ByProtocol = byProtocol((p) => identityReply(p, 'SY_UNAUTHENTICATED', IdentityMessages.missing(p)))
export const INVALID: ByProtocol = byProtocol((p) => identityReply(p, 'SY_UNAUTHENTICATED', IdentityMessages.invalid))
export const UNAVAILABLE: ByProtocol = byProtocol((p) => identityReply(p, 'SY_AUTH_UNAVAILABLE', IdentityMessages.unavailable))

export function requireIdentity(deps: FilterDeps, type: string): IdentityTables {
  if (deps.identity === undefined) throw new Error(`${type}: built without the snapshot's tenants and keys`)
  return deps.identity
}

/** The schema's `failures` block (snake_case, durations as text). */
export interface FailuresConfig {
  readonly max_failures?: number
  readonly window?: string
  readonly block?: string
}

export function failureLimits(c: FailuresConfig | undefined): AuthFailureLimitConfig {
  return {
    ...(c?.max_failures !== undefined && { maxFailures: c.max_failures }),
    ...(c?.window !== undefined && { windowMs: durationMs(c.window) }),
    ...(c?.block !== undefined && { blockMs: durationMs(c.block) }),
  }
}

/**
 * Per-source failure counting for one filter. `refuse` counts a refused credential and logs once,
 * when the source becomes blocked (one line per block, not one per guess).
 */
export class FailureGate {
  constructor(private readonly filter: string, private readonly limiter: AuthFailureLimiter) {}

  /** The 429 for a blocked source, or undefined. Sources without an address ('') are never blocked. */
  check(ctx: RequestContext, nowMs: number): LocalReply | undefined {
    // No source has failed yet (the usual case): the peer's address is not even read.
    if (this.limiter.idle()) return undefined
    const peer = peerOf(ctx)
    if (peer === '') return undefined
    const wait = this.limiter.blockedFor(peer, nowMs)
    return wait > 0 ? identityReply(ctx.protocol, 'SY_AUTH_THROTTLED', IdentityMessages.throttled, wait / 1000) : undefined
  }

  /** Counts a refused credential; `reason` and `who` (a key id, never a key) go to the log only. */
  refuse(ctx: RequestContext, nowMs: number, reason: string, who?: string): LocalReply {
    const peer = peerOf(ctx)
    if (peer !== '') {
      // A blocked source is refused by check() before it gets here: this is the failure that blocks it.
      const blocked = this.limiter.recordFailure(peer, nowMs)
      if (blocked > 0) {
        log('warn', 'authentication failures: source blocked', { filter: this.filter, source: peer, block_ms: blocked, reason, ...(who && { key: who }) })
      }
    }
    log('debug', 'authentication refused', { filter: this.filter, reason, request_id: ctx.requestId, ...(who && { key: who }) })
    return INVALID[ctx.protocol]
  }
}

const NO_HEADERS: readonly string[] = []

/**
 * Admits the request as `tenant`: the model must be allowed by the tenant and the key (403
 * otherwise), then the identity goes on the request and the caller's credentials come off it.
 */
export function admit(
  ctx: RequestContext, tenant: CompiledTenant, via: Identity['via'], keyId: string | undefined, keyModels: ModelAccess | undefined,
  claims: Identity['claims'], strip: readonly string[] = NO_HEADERS,
): LocalReply | undefined {
  const model = ctx.head.model
  if (model !== undefined && (tenant.models !== undefined || keyModels !== undefined) && !allowsModel(model, tenant.models, keyModels)) {
    return identityReply(ctx.protocol, 'SY_MODEL_FORBIDDEN', IdentityMessages.model(model))
  }
  const identity: Identity = { tenant: tenant.name, labels: tenant.labels, via, keyId, claims }
  ctx.head.identity = identity
  // The credential headers themselves are dropped where the upstream request is built (an identified
  // caller's never cross, upstream/headers.ts): deleting them here would turn every request's header
  // object into a slow dictionary. Only the extra names (a trusted proxy's tenant header) go now.
  if (strip.length !== 0) stripHeaders(ctx.headers, strip)
  return undefined
}
