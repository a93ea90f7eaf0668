/**
 * JWT verification against a real local IdP (test/support/jwks-server.ts): keys generated with
 * jose, served over HTTP, rotated, taken down. Each test builds its own JWKS source, so caching
 * and fetch counts are the test's own.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import { exportJWK, generateSecret, SignJWT } from 'jose'
import { createJwksSource, type JwksSourceOptions } from '../../../src/runtime/identity/jwks-source.js'
import { createJwtVerifier, type JwtVerifierConfig } from '../../../src/runtime/identity/jwt.js'
import { newSigningKey, signToken, startJwksServer, TEST_AUDIENCE, TEST_ISSUER, type JwksServer } from '../../support/jwks-server.js'
import { freePort } from '../../support/ports.js'
import { eventually } from '../../support/eventually.js'

async function idp(t: { after(fn: () => unknown): void }): Promise<JwksServer> {
  const s = await startJwksServer()
  t.after(() => s.close())
  return s
}

function verifierFor(url: string, source: Partial<JwksSourceOptions> = {}, config: Partial<JwtVerifierConfig> = {}) {
  // Generous by default: a busy CI machine can take a while over a process's first fetch.
  const jwks = createJwksSource({ url, timeoutMs: 3000, ...source })
  const verifier = createJwtVerifier({ issuer: TEST_ISSUER, audiences: [TEST_AUDIENCE], keys: { jwks }, tenant: { claim: 'org' }, ...config })
  return { jwks, verifier }
}

test('a valid token yields the tenant from its claim, the subject and the claims', async (t) => {
  const s = await idp(t)
  const { verifier } = verifierFor(s.url)
  const v = await verifier.verify(await s.sign({ sub: 'user-1', org: 'acme', role: 'dev' }))
  assert.ok(v.ok, JSON.stringify(v))
  assert.equal(v.tenant, 'acme')
  assert.equal(v.subject, 'user-1')
  assert.equal(v.claims.role, 'dev')
  assert.ok(Object.isFrozen(v.claims))
})

test('the JWKS is fetched once and cached across requests', async (t) => {
  const s = await idp(t)
  const { verifier } = verifierFor(s.url)
  const token = await s.sign({ org: 'acme' })
  // Concurrent first requests share one fetch; later ones use the cache.
  const first = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(token)))
  assert.ok(first.every((v) => v.ok))
  for (let i = 0; i < 5; i++) assert.ok((await verifier.verify(token)).ok)
  assert.equal(s.fetches, 1)
})

test('an expired token is refused as expired; within the clock skew it is accepted', async (t) => {
  const s = await idp(t)
  const { verifier } = verifierFor(s.url, {}, { clockToleranceSec: 30 })
  const long = await s.sign({ org: 'acme' }, { expiresInSec: -120 })
  assert.deepStrictEqual(await verifier.verify(long), { ok: false, reason: 'expired', message: 'token has expired' })
  const justNow = await s.sign({ org: 'acme' }, { expiresInSec: -5 })
  assert.equal((await verifier.verify(justNow)).ok, true)
})

test('a token that is not valid yet is refused', async (t) => {
  const s = await idp(t)
  const { verifier } = verifierFor(s.url, {}, { clockToleranceSec: 0 })
  const v = await verifier.verify(await s.sign({ org: 'acme' }, { notBeforeSec: 120 }))
  assert.equal(v.ok === false && v.reason, 'not_yet_valid')
})

test('a token for another audience is refused', async (t) => {
  const s = await idp(t)
  const { verifier } = verifierFor(s.url)
  const v = await verifier.verify(await s.sign({ org: 'acme' }, { audience: 'some-other-api' }))
  assert.deepStrictEqual(v, { ok: false, reason: 'wrong_audience', message: 'token audience is not accepted' })
})

test('a token with one of several accepted audiences is accepted', async (t) => {
  const s = await idp(t)
  const { verifier } = verifierFor(s.url, {}, { audiences: ['a', TEST_AUDIENCE] })
  assert.equal((await verifier.verify(await s.sign({ org: 'acme' }, { audience: ['x', TEST_AUDIENCE] }))).ok, true)
})

test('a token from another issuer is refused, even when signed by a published key', async (t) => {
  const s = await idp(t)
  const { verifier } = verifierFor(s.url)
  const v = await verifier.verify(await s.sign({ org: 'acme' }, { issuer: 'https://evil.test/' }))
  assert.deepStrictEqual(v, { ok: false, reason: 'wrong_issuer', message: 'token issuer is not accepted' })
})

test('a rotated key is picked up: a new kid triggers one refetch', async (t) => {
  const s = await idp(t)
  const { verifier, jwks } = verifierFor(s.url, { cooldownMs: 0 })
  assert.ok((await verifier.verify(await s.sign({ org: 'acme' }))).ok)
  const oldKey = s.current
  await s.rotate()
  const v = await verifier.verify(await s.sign({ org: 'acme' }))
  assert.ok(v.ok, JSON.stringify(v))
  assert.equal(s.fetches, 2)
  assert.deepStrictEqual(jwks.status().kids, [s.current.kid])
  // The old key is no longer published, so its tokens are now refused.
  const stale = await verifier.verify(await signToken(oldKey, { org: 'acme' }))
  assert.equal(stale.ok === false && stale.reason, 'unknown_key')
})

test('unknown kids refetch at most once per cooldown', async (t) => {
  const s = await idp(t)
  const { verifier } = verifierFor(s.url, { cooldownMs: 60_000 })
  assert.ok((await verifier.verify(await s.sign({ org: 'acme' }))).ok)
  const stranger = await newSigningKey()
  for (let i = 0; i < 10; i++) {
    const v = await verifier.verify(await signToken(stranger, { org: 'acme' }, { kid: `invented-${i}` }))
    assert.equal(v.ok === false && v.reason, 'unknown_key')
  }
  assert.equal(s.fetches, 1, 'the set was fetched recently, so invented kids do not reach the IdP')
})

test('within the cooldown an unknown kid is unknown_key only after a successful fetch: a failed one makes it jwks_unavailable, a running one decides', async (t) => {
  const s = await idp(t)
  const { verifier, jwks } = verifierFor(s.url, { maxAgeMs: 0, cooldownMs: 60_000, retryMs: 60_000, timeoutMs: 300 })
  assert.ok((await verifier.verify(await s.sign({ org: 'acme' }))).ok)
  const rotated = await newSigningKey()
  const fresh = await signToken(rotated, { org: 'acme' })
  // The set is aged (maxAge 0): a known token starts a background refresh, which fails.
  s.mode = 'fail'
  assert.ok((await verifier.verify(await s.sign({ org: 'acme' }))).ok)
  await eventually(() => jwks.status().lastError !== undefined, undefined, 'the background refresh to fail')
  assert.equal(((await verifier.verify(fresh)) as { reason: string }).reason, 'jwks_unavailable')
  // A refresh in flight (hanging until its timeout) decides for an unknown kid that arrives meanwhile.
  s.mode = 'ok'
  const hanging = verifierFor(s.url, { maxAgeMs: 0, cooldownMs: 60_000, timeoutMs: 300 })
  assert.ok((await hanging.verifier.verify(await s.sign({ org: 'acme' }))).ok)
  // The set must be older than maxAge (0 ms) when the unknown kid arrives: within the same
  // millisecond as the fetch it is still fresh, no refresh starts, and the kid is unknown_key.
  await new Promise((r) => setTimeout(r, 5))
  s.mode = 'hang'
  const started = performance.now()
  assert.equal(((await hanging.verifier.verify(fresh)) as { reason: string }).reason, 'jwks_unavailable')
  assert.ok(performance.now() - started < 1000)
  // The same with the IdP answering (and now publishing the rotated key): the refresh brings it.
  s.mode = 'ok'
  s.publish(rotated)
  const answering = verifierFor(s.url, { maxAgeMs: 0, cooldownMs: 60_000 })
  assert.ok((await answering.verifier.verify(await s.sign({ org: 'acme' }))).ok)
  await new Promise((r) => setTimeout(r, 5))
  assert.ok((await answering.verifier.verify(fresh)).ok)
})

test('a token signed by another key under a published kid fails its signature check', async (t) => {
  const s = await idp(t)
  const { verifier } = verifierFor(s.url)
  const forger = await newSigningKey()
  const v = await verifier.verify(await signToken(forger, { org: 'acme' }, { kid: s.current.kid }))
  assert.deepStrictEqual(v, { ok: false, reason: 'bad_signature', message: 'token signature does not verify' })
})

test('tenant from a nested claim, through a map, or a default', async (t) => {
  const s = await idp(t)
  const nested = verifierFor(s.url, {}, { tenant: { claim: 'org.id' } }).verifier
  const v1 = await nested.verify(await s.sign({ org: { id: 'acme' } }))
  assert.equal(v1.ok && v1.tenant, 'acme')
  const namespaced = verifierFor(s.url, {}, { tenant: { claim: 'https://example.com/tenant' } }).verifier
  const v2 = await namespaced.verify(await s.sign({ 'https://example.com/tenant': 'beta' }))
  assert.equal(v2.ok && v2.tenant, 'beta')
  const mapped = verifierFor(s.url, {}, { tenant: { claim: 'org', map: { 'org-123': 'pro' } } }).verifier
  const v3 = await mapped.verify(await s.sign({ org: 'org-123' }))
  assert.equal(v3.ok && v3.tenant, 'pro')
  const unmapped = await mapped.verify(await s.sign({ org: 'org-999' }))
  assert.deepStrictEqual(unmapped, { ok: false, reason: 'no_tenant', message: "token's 'org' claim names no known tenant" })
  const withDefault = verifierFor(s.url, {}, { tenant: { claim: 'org', default: 'free' } }).verifier
  const v4 = await withDefault.verify(await s.sign({ sub: 'u' }))
  assert.equal(v4.ok && v4.tenant, 'free')
  const noDefault = await nested.verify(await s.sign({ sub: 'u' }))
  assert.equal(noDefault.ok === false && noDefault.reason, 'no_tenant')
})

test('required claims: exp by default, plus the configured ones', async (t) => {
  const s = await idp(t)
  const { verifier } = verifierFor(s.url, {}, { requiredClaims: ['sub'] })
  const noExp = await verifier.verify(await s.sign({ org: 'acme', sub: 'u' }, { expiresInSec: null }))
  assert.deepStrictEqual(noExp, { ok: false, reason: 'missing_claim', message: "token lacks the required claim 'exp'" })
  const noSub = await verifier.verify(await s.sign({ org: 'acme' }))
  assert.deepStrictEqual(noSub, { ok: false, reason: 'missing_claim', message: "token lacks the required claim 'sub'" })
  const optional = verifierFor(s.url, {}, { requireExpiry: false }).verifier
  assert.equal((await optional.verify(await s.sign({ org: 'acme' }, { expiresInSec: null }))).ok, true)
})

test('HMAC and unsigned tokens are refused by default; inline keys verify without a JWKS', async () => {
  const secret = await generateSecret('HS256', { extractable: true })
  const hs = await new SignJWT({ org: 'acme' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(TEST_ISSUER).setAudience(TEST_AUDIENCE).setExpirationTime('5m').sign(secret)
  const key = await newSigningKey('ES256')
  const inline = createJwtVerifier({ issuer: TEST_ISSUER, audiences: [TEST_AUDIENCE], keys: { inline: [key.publicJwk] }, tenant: { claim: 'org' } })
  assert.equal(((await inline.verify(hs)) as { reason: string }).reason, 'bad_algorithm')
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ org: 'acme', iss: TEST_ISSUER, aud: TEST_AUDIENCE, exp: 2e9 })).toString('base64url')}.`
  assert.equal(((await inline.verify(none)) as { reason: string }).reason, 'bad_algorithm')
  const ok = await inline.verify(await signToken(key, { org: 'acme' }))
  assert.equal(ok.ok && ok.tenant, 'acme')
  // HS256 only when asked for, with the secret inline.
  const hmac = createJwtVerifier({ issuer: TEST_ISSUER, keys: { inline: [await exportJWK(secret)] }, algorithms: ['HS256'], tenant: { claim: 'org' } })
  assert.equal((await hmac.verify(hs)).ok, true)
  assert.throws(() => createJwtVerifier({ issuer: TEST_ISSUER, keys: { inline: [] }, algorithms: ['none'], tenant: { claim: 'org' } }), /without "none"/)
  const jwks = createJwksSource({ url: 'http://127.0.0.1:9/jwks.json' })
  assert.throws(() => createJwtVerifier({ issuer: TEST_ISSUER, keys: { jwks }, algorithms: ['HS256'], tenant: { claim: 'org' } }), /need an inline oct key/)
})

test('garbage and oversized tokens are refused as malformed', async (t) => {
  const s = await idp(t)
  const { verifier } = verifierFor(s.url)
  for (const token of ['', 'abc', 'a.b.c', 'x'.repeat(20_000)]) {
    const v = await verifier.verify(token)
    assert.equal(v.ok === false && v.reason, 'malformed', token.slice(0, 20))
  }
  assert.equal(s.fetches, 0, 'nothing unparseable reaches the IdP')
})

test('JWKS server down: the first request fails fast and clearly, the next ones without a new fetch', async () => {
  const port = await freePort() // bindable a moment ago, so nothing listens there
  const { verifier, jwks } = verifierFor(`http://127.0.0.1:${port}/jwks.json`, { retryMs: 60_000 })
  const token = await signToken(await newSigningKey(), { org: 'acme' })
  const started = performance.now()
  const v = await verifier.verify(token)
  assert.ok(performance.now() - started < 2000)
  assert.equal(v.ok === false && v.reason, 'jwks_unavailable')
  assert.match((v as { message: string }).message, new RegExp(`^JWKS http://127\\.0\\.0\\.1:${port}/jwks\\.json unavailable: connect ECONNREFUSED`))
  for (let i = 0; i < 5; i++) assert.equal(((await verifier.verify(token)) as { reason: string }).reason, 'jwks_unavailable')
  assert.equal(jwks.status().fetches, 1, 'within retryMs of a failure, requests fail without another connection attempt')
})

test('a JWKS server that accepts and never answers costs one timeout, not a hung request', async (t) => {
  const sockets: Socket[] = []
  const silent = createServer((s) => void sockets.push(s))
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
  t.after(() => { for (const s of sockets) s.destroy(); silent.close() })
  const { port } = silent.address() as { port: number }
  const { verifier } = verifierFor(`http://127.0.0.1:${port}/jwks.json`, { timeoutMs: 300 })
  const started = performance.now()
  const v = await verifier.verify(await signToken(await newSigningKey(), { org: 'acme' }))
  const took = performance.now() - started
  assert.deepStrictEqual(v, { ok: false, reason: 'jwks_unavailable', message: `JWKS http://127.0.0.1:${port}/jwks.json unavailable: no answer within 300 ms` })
  assert.ok(took >= 250 && took < 3000, `took ${took} ms`)
})

test('an IdP answering 500 is unavailable; after it recovers, the next fetch succeeds', async (t) => {
  const s = await idp(t)
  s.mode = 'fail'
  const { verifier, jwks } = verifierFor(s.url, { retryMs: 50 })
  const token = await s.sign({ org: 'acme' })
  const v = await verifier.verify(token)
  assert.equal(v.ok === false && v.message, `JWKS ${s.url} unavailable: status 500`)
  s.mode = 'ok'
  await new Promise((r) => setTimeout(r, 60))
  assert.equal((await verifier.verify(token)).ok, true)
  assert.equal(jwks.status().lastError, undefined)
})

test('cached keys keep serving while the IdP is down; a background refresh does not hold requests', async (t) => {
  const s = await idp(t)
  const { verifier, jwks } = verifierFor(s.url, { maxAgeMs: 0, timeoutMs: 1000 })
  const token = await s.sign({ org: 'acme' })
  assert.ok((await verifier.verify(token)).ok)
  s.mode = 'hang'
  const started = performance.now()
  for (let i = 0; i < 3; i++) assert.ok((await verifier.verify(token)).ok)
  assert.ok(performance.now() - started < 900, 'the refresh of an aged set runs in the background (a held request would wait the 1000 ms timeout)')
  // The background refresh reaches the server a moment later on a loaded machine: wait for it, then it must be the only one.
  await eventually(() => s.fetches >= 2, undefined, 'the background refresh to reach the IdP')
  assert.equal(s.fetches, 2, 'one background refresh in flight, shared')
  await jwks.warm()
  assert.match(jwks.status().lastError ?? '', /no answer within 1000 ms/)
})
