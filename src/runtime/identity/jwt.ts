/**
 * JWT bearer tokens verified with jose: signature against the IdP's keys (a JWKS source, or keys
 * inline in config), issuer, audiences, expiry with clock skew, required claims, and the tenant
 * taken from a claim (optionally through a value → tenant map).
 *
 * Built once per snapshot; verify() is per request and never throws: every refusal comes back as
 * a reason (for the log, the failure counter and the status code) and a message that never quotes
 * the token. `jwks_unavailable` is the one refusal that is not the caller's fault (answer 503).
 *
 * @example
 * const verifier = createJwtVerifier({
 *   issuer: 'https://idp.example.com/', audiences: ['switchyard'],
 *   keys: { jwks: createJwksSource({ url: 'https://idp.example.com/jwks.json' }) },
 *   tenant: { claim: 'org' },
 * })
 * const v = await verifier.verify(token)
 * if (v.ok) ctx.head.identity = { tenant: v.tenant, claims: v.claims }
 */
import { createLocalJWKSet, importJWK, jwtVerify, errors, type CryptoKey, type JWK, type JWSHeaderParameters, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { JwksUnavailable, type JwksSource } from './jwks-source.js'
import { claimAt } from './claims.js'

/** Asymmetric algorithms only by default: an HMAC secret would have to be shared with every verifier. */
export const DEFAULT_JWT_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'])

export interface JwtTenantMapping {
  /** The claim holding the tenant: a top-level name (`org_id`, `https://example.com/tenant`) or a dotted path (`org.id`). */
  readonly claim: string
  /** Claim value → tenant name; when set, a value missing from it is refused. */
  readonly map?: Readonly<Record<string, string>>
  /** Tenant for a token without the claim; when unset, such a token is refused. */
  readonly default?: string
}

export interface JwtVerifierConfig {
  /** Accepted `iss` values (exact). */
  readonly issuer: string | readonly string[]
  /** The token's `aud` must contain one of these; when unset, `aud` is not checked. */
  readonly audiences?: readonly string[]
  readonly keys: { readonly jwks: JwksSource } | { readonly inline: readonly JWK[] }
  /** Default DEFAULT_JWT_ALGORITHMS; `HS256` etc. only with inline `oct` keys. `none` is never accepted. */
  readonly algorithms?: readonly string[]
  /** Skew allowed on `exp`, `nbf` and `iat` (default 30 s). */
  readonly clockToleranceSec?: number
  /** Claims that must be present besides `exp` (which always must, unless `requireExpiry` is false). */
  readonly requiredClaims?: readonly string[]
  /** Default true: a token without `exp` would be valid forever. */
  readonly requireExpiry?: boolean
  readonly tenant: JwtTenantMapping
}

export type JwtRefusal =
  | 'malformed' | 'bad_algorithm' | 'unknown_key' | 'bad_signature'
  | 'expired' | 'not_yet_valid' | 'wrong_issuer' | 'wrong_audience' | 'missing_claim' | 'invalid_claim'
  | 'no_tenant'
  /** The IdP's keys could not be fetched: not the caller's fault (503, and not a failed authentication). */
  | 'jwks_unavailable'

export type JwtVerdict =
  | { readonly ok: true; readonly tenant: string; readonly subject: string | undefined; readonly claims: Readonly<JWTPayload>; readonly expiresAtMs: number | undefined }
  | { readonly ok: false; readonly reason: JwtRefusal; readonly message: string }

export interface JwtVerifier {
  /** Per request. `nowMs` is for tests; it defaults to the clock. */
  verify(token: string, nowMs?: number): Promise<JwtVerdict>
}

/** A compact JWS is three base64url parts; anything far longer than a real token is refused unparsed. */
const MAX_TOKEN_LENGTH = 16 * 1024

/**
 * Inline keys: public keys through jose's local JWK set; `oct` (HMAC) secrets, which a JWK set
 * does not take, picked by `kid` (or as the only one) and imported once per algorithm.
 */
function inlineKeys(keys: readonly JWK[]): JWTVerifyGetKey {
  const secrets = keys.filter((k) => k.kty === 'oct')
  const publics = createLocalJWKSet({ keys: keys.filter((k) => k.kty !== 'oct') })
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>()
  return (header: JWSHeaderParameters, token) => {
    if (!header.alg?.startsWith('HS')) return publics(header, token)
    const matching = secrets.filter((k) => header.kid === undefined || k.kid === header.kid)
    if (matching.length !== 1) throw new errors.JWKSNoMatchingKey()
    const id = `${secrets.indexOf(matching[0])}:${header.alg}`
    let key = imported.get(id)
    if (!key) imported.set(id, (key = importJWK(matching[0], header.alg)))
    return key
  }
}

function refusalOf(e: unknown): { reason: JwtRefusal; message: string } {
  if (e instanceof JwksUnavailable) return { reason: 'jwks_unavailable', message: e.message }
  if (!(e instanceof errors.JOSEError)) return { reason: 'malformed', message: 'token could not be verified' }
  switch (e.code) {
    case 'ERR_JWT_EXPIRED': return { reason: 'expired', message: 'token has expired' }
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = e as errors.JWTClaimValidationFailed
      if (claim === 'iss') return { reason: 'wrong_issuer', message: 'token issuer is not accepted' }
      if (claim === 'aud') return { reason: 'wrong_audience', message: 'token audience is not accepted' }
      if (claim === 'nbf') return { reason: 'not_yet_valid', message: 'token is not valid yet' }
      if (reason === 'missing') return { reason: 'missing_claim', message: `token lacks the required claim '${claim}'` }
      return { reason: 'invalid_claim', message: `token claim '${claim}' is invalid` }
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return { reason: 'bad_signature', message: 'token signature does not verify' }
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS': return { reason: 'unknown_key', message: 'token is signed with a key the issuer does not publish' }
    case 'ERR_JOSE_ALG_NOT_ALLOWED': return { reason: 'bad_algorithm', message: 'token algorithm is not accepted' }
    default: return { reason: 'malformed', message: 'token is not a valid JWT' }
  }
}

export function createJwtVerifier(config: JwtVerifierConfig): JwtVerifier {
  const algorithms = [...(config.algorithms ?? DEFAULT_JWT_ALGORITHMS)]
  if (algorithms.length === 0 || algorithms.some((a) => a.toLowerCase() === 'none')) throw new Error('jwt: algorithms must be a non-empty list without "none"')
  const issuers = typeof config.issuer === 'string' ? [config.issuer] : [...config.issuer]
  if (issuers.length === 0 || issuers.some((i) => i === '')) throw new Error('jwt: issuer must be set')
  const hmac = algorithms.some((a) => a.startsWith('HS'))
  if (hmac && !('inline' in config.keys && config.keys.inline.some((k) => k.kty === 'oct'))) {
    throw new Error('jwt: HS* algorithms need an inline oct key (a shared secret is never fetched from a JWKS)')
  }
  const getKey: JWTVerifyGetKey = 'jwks' in config.keys ? config.keys.jwks.getKey : inlineKeys(config.keys.inline)
  const required = [...(config.requireExpiry === false ? [] : ['exp']), ...(config.requiredClaims ?? [])]
  const { claim, map, default: fallback } = config.tenant
  const options = {
    issuer: issuers,
    audience: config.audiences ? [...config.audiences] : undefined,
    algorithms,
    clockTolerance: config.clockToleranceSec ?? 30,
    requiredClaims: [...new Set(required)],
  }

  function tenantOf(payload: JWTPayload): string | undefined {
    const raw = claimAt(payload, claim)
    const value = typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : undefined
    if (value === undefined || value === '') return fallback
    if (map === undefined) return value
    return Object.hasOwn(map, value) ? map[value] : undefined
  }

  return {
    async verify(token, nowMs) {
      if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed', message: 'token is too long' }
      let payload: JWTPayload
      try {
        ;({ payload } = await jwtVerify(token, getKey, nowMs === undefined ? options : { ...options, currentDate: new Date(nowMs) }))
      } catch (e) {
        return { ok: false, ...refusalOf(e) }
      }
      const tenant = tenantOf(payload)
      if (tenant === undefined) return { ok: false, reason: 'no_tenant', message: `token's '${claim}' claim names no known tenant` }
      return {
        ok: true,
        tenant,
        subject: payload.sub,
        claims: Object.freeze(payload),
        expiresAtMs: payload.exp === undefined ? undefined : payload.exp * 1000,
      }
    },
  }
}
