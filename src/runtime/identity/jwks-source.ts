/**
 * The signing keys of an identity provider, fetched from its JWKS URL and cached. jose's own
 * createRemoteJWKSet is close, but two of its behaviours do not fit a gateway: once its cache is
 * older than `cacheMaxAge` every request waits for a refetch (an IdP outage turns into a login
 * outage after 10 minutes although the keys rarely change), and a failed fetch is not remembered,
 * so while the IdP is down every request (or every unknown `kid` an attacker invents) starts
 * another fetch. This source differs in exactly those points:
 *
 * - A set older than `maxAgeMs` keeps serving while one background refresh runs; only a set older
 *   than `maxStaleMs` (default 24 h) is no longer trusted.
 * - A token whose `kid` is not in the set triggers a refetch (key rotation), at most once per
 *   `cooldownMs`; other unknown kids in that time fail at once.
 * - Every fetch has a timeout (`timeoutMs`, body included); after a failure, requests fail fast
 *   for `retryMs` instead of queueing on another fetch. No request waits longer than one timeout.
 * - Concurrent requests share one fetch.
 *
 * One source per JWKS URL should outlive snapshots (a reload must not drop the keys or refetch).
 *
 * @example
 * const jwks = createJwksSource({ url: 'https://idp.example.com/.well-known/jwks.json' })
 * await jwtVerify(token, jwks.getKey, { issuer })
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWSHeaderParameters, type FlattenedJWSInput, type CryptoKey } from 'jose'

export interface JwksSourceOptions {
  readonly url: string
  /** Per fetch, connect to last byte (default 2 s). */
  readonly timeoutMs?: number
  /** After this the set is refreshed in the background on next use (default 10 min). */
  readonly maxAgeMs?: number
  /** Keys are used at most this long after their last successful fetch (default 24 h). */
  readonly maxStaleMs?: number
  /** Minimum time between fetches caused by an unknown `kid` (default 30 s). */
  readonly cooldownMs?: number
  /** After a failed fetch, requests fail fast this long before another fetch is tried (default 1 s). */
  readonly retryMs?: number
  /** Larger JWKS bodies are refused (default 1 MiB). */
  readonly maxBytes?: number
}

export interface JwksStatus {
  readonly url: string
  /** Key ids in the current set (kids are public). */
  readonly kids: readonly string[]
  readonly fetchedAt: number | undefined
  readonly fetches: number
  readonly lastError: string | undefined
}

export interface JwksSource {
  /** jose's key resolver: `jwtVerify(token, source.getKey, …)`. */
  readonly getKey: (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>
  /** Fetches the set now unless one is fresh; never rejects (a failure is kept for status()). */
  warm(): Promise<void>
  status(): JwksStatus
}

/** The keys could not be fetched (and no usable set is cached): the IdP's or the network's fault, not the caller's. */
export class JwksUnavailable extends Error {
  readonly code = 'ERR_JWKS_UNAVAILABLE'
}

export function createJwksSource(options: JwksSourceOptions): JwksSource {
  const url = new URL(options.url)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`jwks url ${JSON.stringify(options.url)} must be http(s)`)
  const timeoutMs = options.timeoutMs ?? 2000
  const maxAgeMs = options.maxAgeMs ?? 600_000
  const maxStaleMs = options.maxStaleMs ?? 86_400_000
  const cooldownMs = options.cooldownMs ?? 30_000
  const retryMs = options.retryMs ?? 1000
  const maxBytes = options.maxBytes ?? 1 << 20

  let local: ReturnType<typeof createLocalJWKSet> | undefined
  let kids: string[] = []
  let fetchedAt: number | undefined
  let attemptedAt = -Infinity
  let failure: JwksUnavailable | undefined
  let pending: Promise<void> | undefined
  let fetches = 0

  async function fetchSet(): Promise<JSONWebKeySet> {
    const res = await fetch(url, {
      headers: { accept: 'application/json, application/jwk-set+json' },
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (res.status !== 200) {
      await res.body?.cancel()
      throw new Error(`status ${res.status}`)
    }
    const declared = Number(res.headers.get('content-length') ?? 0)
    if (declared > maxBytes) {
      await res.body?.cancel()
      throw new Error(`body of ${declared} bytes exceeds ${maxBytes}`)
    }
    const body = await res.arrayBuffer()
    if (body.byteLength > maxBytes) throw new Error(`body exceeds ${maxBytes} bytes`)
    const json = JSON.parse(Buffer.from(body).toString('utf8')) as JSONWebKeySet
    if (!json || !Array.isArray(json.keys)) throw new Error('body is not a JWK set (no "keys" array)')
    return json
  }

  /** One fetch for everyone waiting; within `retryMs` of a failure, that failure again. */
  function refresh(): Promise<void> {
    if (pending) return pending
    const now = Date.now()
    if (failure && now - attemptedAt < retryMs) return Promise.reject(failure)
    attemptedAt = now
    fetches++
    pending = fetchSet().then(
      (set) => {
        local = createLocalJWKSet(set)
        kids = set.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string')
        fetchedAt = Date.now()
        failure = undefined
      },
      (e: unknown) => {
        const err = e as Error
        const why = err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause as Error | undefined)?.message ?? err.message
        failure = new JwksUnavailable(`JWKS ${url.origin}${url.pathname} unavailable: ${why}`)
        throw failure
      },
    ).finally(() => (pending = undefined))
    return pending
  }

  async function getKey(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> {
    const age = fetchedAt === undefined ? Infinity : Date.now() - fetchedAt
    if (local === undefined || age > maxStaleMs) await refresh()
    else if (age > maxAgeMs) refresh().catch(() => {})
    try {
      return await local!(header, token)
    } catch (e) {
      // A kid we have not seen: the IdP may have rotated. Refetch, but not for every invented kid.
      if (!(e instanceof errors.JWKSNoMatchingKey)) throw e
      if (Date.now() - attemptedAt < cooldownMs) {
        // Within the cooldown the kid is unknown for sure only if the last fetch succeeded. While
        // one runs, its answer decides; after a failed one the keys cannot be checked (503, which
        // the SDKs retry), not "invalid token" (401, counted against the caller's address).
        if (pending) await pending
        else if (failure) throw failure
        else throw e
      } else await refresh()
      return local!(header, token)
    }
  }

  return {
    getKey,
    warm: () => (fetchedAt !== undefined && Date.now() - fetchedAt <= maxAgeMs ? Promise.resolve() : refresh().catch(() => {})),
    status: () => ({ url: url.href, kids: [...kids], fetchedAt, fetches, lastError: failure?.message }),
  }
}
