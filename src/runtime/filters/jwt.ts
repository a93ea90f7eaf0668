/**
 * `jwt` filter: a bearer JWT verified with jose (signature against the IdP's JWKS or inline keys,
 * issuer, audiences, expiry with clock skew, required claims); the tenant comes from a claim.
 * Runs before routing, so rules can match on the tenant and the claims. The JWKS source lives in
 * the stores: a reload keeps the fetched keys. Config: schemas/filters/jwt.schema.json.
 *
 * @example
 * filters:
 *   - name: sso
 *     type: jwt
 *     config:
 *       issuer: https://login.example.com/
 *       audiences: [switchyard]
 *       jwks: { url: https://login.example.com/.well-known/jwks.json }
 *       tenant: { claim: org_id, default: free }
 */
import type { JWK } from 'jose'
import type { Filter, FilterDeps, RequestContext } from '../types.js'
import { createJwtVerifier, type JwtTenantMapping } from '../identity/jwt.js'
import { bearerToken } from '../identity/credentials.js'
import { admit, failureLimits, FailureGate, MISSING, requireIdentity, UNAVAILABLE, type FailuresConfig } from '../identity/admission.js'
import { durationMs } from '../../shared/units.js'

export interface JwtConfig {
  readonly issuer: string | readonly string[]
  readonly audiences?: readonly string[]
  readonly jwks?: { readonly url: string; readonly timeout?: string; readonly max_age?: string; readonly cooldown?: string }
  readonly keys?: readonly JWK[]
  readonly algorithms?: readonly string[]
  readonly clock_skew?: string
  readonly required_claims?: readonly string[]
  readonly require_expiry?: boolean
  readonly tenant: JwtTenantMapping
  readonly failures?: FailuresConfig
}

export function create(config: JwtConfig, deps: FilterDeps): Filter {
  const { tenants } = requireIdentity(deps, 'jwt')
  const named = [...Object.values(config.tenant.map ?? {}), ...(config.tenant.default !== undefined ? [config.tenant.default] : [])]
  const unknown = [...new Set(named.filter((t) => !tenants.has(t)))]
  if (unknown.length > 0) throw new Error(`jwt: tenant mapping names unknown tenant${unknown.length > 1 ? 's' : ''} ${unknown.map((t) => `'${t}'`).join(', ')} (known: ${[...tenants.keys()].join(', ') || 'none'})`)
  if ((config.jwks === undefined) === (config.keys === undefined)) throw new Error('jwt: set exactly one of jwks and keys')
  const j = config.jwks
  const keys = j !== undefined
    ? { jwks: deps.stores.jwks({ url: j.url, timeoutMs: durationMs(j.timeout ?? '2s'), maxAgeMs: durationMs(j.max_age ?? '10m'), cooldownMs: durationMs(j.cooldown ?? '30s') }) }
    : { inline: config.keys! }
  const verifier = createJwtVerifier({
    issuer: config.issuer,
    ...(config.audiences && { audiences: config.audiences }),
    keys,
    ...(config.algorithms && { algorithms: config.algorithms }),
    clockToleranceSec: durationMs(config.clock_skew ?? '30s') / 1000,
    requiredClaims: config.required_claims ?? [],
    requireExpiry: config.require_expiry !== false,
    tenant: config.tenant,
  })
  const gate = new FailureGate('jwt', deps.stores.authFailures(`jwt|${JSON.stringify(config.issuer)}`, failureLimits(config.failures)))
  // The keys are not fetched here: the dry build runs this factory in `validate` too. The first
  // request fetches them (concurrent requests share the fetch); the source outlives snapshots.
  return {
    name: 'jwt',
    phase: 'pre_route',
    onRequest(ctx: RequestContext) {
      const now = Date.now()
      const blocked = gate.check(ctx, now)
      if (blocked !== undefined) return blocked
      const raw = ctx.headers.authorization
      const token = raw === undefined ? undefined : bearerToken(raw)
      if (token === undefined) return MISSING[ctx.protocol]
      return verifier.verify(token).then((v) => {
        if (!v.ok) return v.reason === 'jwks_unavailable' ? UNAVAILABLE[ctx.protocol] : gate.refuse(ctx, Date.now(), v.reason)
        const tenant = tenants.get(v.tenant)
        if (tenant === undefined) return gate.refuse(ctx, Date.now(), 'unknown_tenant')
        return admit(ctx, tenant, 'jwt', undefined, undefined, v.claims)
      })
    },
  }
}
