/**
 * A local identity provider for JWT tests: a node:http JWKS endpoint serving real keys generated
 * with jose, which it can rotate (a new `kid` replaces the old), stop answering (`hang`), refuse
 * (`fail`) or take off the network (`down()`: connections refused until `up()`), and a signer for tokens under any of its keys. It counts fetches so tests can assert
 * caching and rate-limited refetches.
 *
 * @example
 * const idp = await startJwksServer()
 * t.after(() => idp.close())
 * const token = await idp.sign({ sub: 'u1', org: 'acme' })
 * idp.rotate()                      // the next sign() uses a new kid, and the JWKS serves only it
 */
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { startHttpServer } from './http-server.js'

export const TEST_ISSUER = 'https://idp.test/'
export const TEST_AUDIENCE = 'switchyard'

export interface SigningKey {
  readonly kid: string
  readonly alg: string
  readonly privateKey: CryptoKey
  readonly publicJwk: JWK
}

export interface SignOptions {
  /** Default: the server's current key. */
  readonly key?: SigningKey
  readonly issuer?: string
  readonly audience?: string | string[]
  /** Seconds from now; default 300. `null`: no `exp` claim. */
  readonly expiresInSec?: number | null
  readonly notBeforeSec?: number
  /** Override the header's kid (to sign with one key but name another). */
  readonly kid?: string
}

export interface JwksServer {
  /** `http://127.0.0.1:<port>/.well-known/jwks.json` */
  readonly url: string
  /** The key tokens are signed with now. */
  readonly current: SigningKey
  /** GET requests served (answered, failed or hung). */
  readonly fetches: number
  /** `ok` serves the set; `fail` answers 500; `hang` accepts and never answers. */
  mode: 'ok' | 'fail' | 'hang'
  /** Replaces the served set by a fresh key with a new kid (the old one is no longer published). */
  rotate(): Promise<SigningKey>
  /** Publishes `extra` beside the current key (for overlap periods). */
  publish(...extra: SigningKey[]): void
  /** Stops listening (connections are refused) and drops open connections; `up()` listens on the same port again. */
  down(): Promise<void>
  up(): Promise<void>
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>
  close(): Promise<void>
}

let kidCounter = 0

export async function newSigningKey(alg: 'RS256' | 'ES256' = 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const kid = `k${++kidCounter}-${alg.toLowerCase()}`
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

export async function signToken(key: SigningKey, claims: JWTPayload, options: SignOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT' })
    .setIssuer(options.issuer ?? TEST_ISSUER)
    .setAudience(options.audience ?? TEST_AUDIENCE)
    .setIssuedAt(now)
  if (options.expiresInSec !== null) jwt.setExpirationTime(now + (options.expiresInSec ?? 300))
  if (options.notBeforeSec !== undefined) jwt.setNotBefore(now + options.notBeforeSec)
  return jwt.sign(key.privateKey)
}

export async function startJwksServer(alg: 'RS256' | 'ES256' = 'ES256'): Promise<JwksServer> {
  let current = await newSigningKey(alg)
  let published: SigningKey[] = [current]
  let fetches = 0
  const hung: import('node:http').ServerResponse[] = []
  const state = { mode: 'ok' as JwksServer['mode'] }
  const server = await startHttpServer((req, res) => {
    fetches++
    if (state.mode === 'hang') return void hung.push(res)
    if (state.mode === 'fail') return void res.writeHead(500).end('idp down')
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: published.map((k) => k.publicJwk) }))
  })
  return {
    url: `${server.origin}/.well-known/jwks.json`,
    get current() { return current },
    get fetches() { return fetches },
    get mode() { return state.mode },
    set mode(m) { state.mode = m },
    async rotate() {
      current = await newSigningKey(alg)
      published = [current]
      return current
    },
    publish(...extra) { published = [current, ...extra] },
    down: () => new Promise<void>((resolve) => {
      for (const res of hung.splice(0)) res.destroy()
      server.server.closeAllConnections()
      server.server.close(() => resolve())
    }),
    up: () => new Promise<void>((resolve, reject) => {
      server.server.once('error', reject)
      server.server.listen(server.port, '127.0.0.1', () => (server.server.off('error', reject), resolve()))
    }),
    sign: (claims, options = {}) => signToken(options.key ?? current, claims, options),
    close: () => {
      for (const res of hung) res.destroy()
      return server.server.listening ? server.close() : Promise.resolve()
    },
  }
}
