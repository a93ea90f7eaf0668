/**
 * `trusted_header` filter: the tenant named by a header an authenticating proxy sets, believed only
 * from the proxies' own addresses (the TCP peer; X-Forwarded-For is never read). Runs before
 * routing. Config: schemas/filters/trusted_header.schema.json.
 *
 * @example
 * filters:
 *   - name: from-proxy
 *     type: trusted_header
 *     config: { header: x-auth-tenant, sources: [10.0.0.0/8] }
 */
import type { Filter, FilterDeps, RequestContext } from '../types.js'
import { compileTrustedHeader, type TrustedHeaderConfig } from '../identity/trusted-header.js'
import { peerOf } from '../identity/peer.js'
import { admit, failureLimits, FailureGate, MISSING, requireIdentity } from '../identity/admission.js'

export function create(config: TrustedHeaderConfig, deps: FilterDeps): Filter {
  const { tenants } = requireIdentity(deps, 'trusted_header')
  const trusted = compileTrustedHeader(config)
  const strip = [trusted.header]
  const gate = new FailureGate('trusted_header', deps.stores.authFailures(`trusted_header|${trusted.header}`, failureLimits(undefined)))
  return {
    name: 'trusted_header',
    phase: 'pre_route',
    onRequest(ctx: RequestContext) {
      const now = Date.now()
      const blocked = gate.check(ctx, now)
      if (blocked !== undefined) return blocked
      const t = trusted.tenantOf(peerOf(ctx), ctx.headers)
      if (!t.ok) return t.reason === 'missing' ? MISSING[ctx.protocol] : gate.refuse(ctx, now, t.reason)
      const tenant = tenants.get(t.tenant)
      if (tenant === undefined) return gate.refuse(ctx, now, 'unknown_tenant')
      return admit(ctx, tenant, 'trusted_header', undefined, undefined, undefined, strip)
    },
  }
}
