/**
 * The `jwt` filter while its identity provider is away: one gateway process, a local JWKS server
 * (test/support/jwks-server) taken off the network (connections refused), answering 500, or
 * accepting and never answering. Tokens signed by a key the gateway already fetched keep being
 * served (also past `max_age`, when the background refresh fails); a token with a `kid` the
 * gateway has not seen gets 503 `auth_unavailable` (the SDKs' InternalServerError, which they
 * retry), never 401 and never counted as a failed authentication, within about one fetch timeout;
 * and the rotated key is picked up once the IdP is back.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { newSigningKey, startJwksServer, TEST_AUDIENCE, type JwksServer, type SigningKey } from '../support/jwks-server.js'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

const FETCH_TIMEOUT_MS = 500
const MAX_AGE_MS = 1000
/** One fetch timeout plus room for a busy machine: no answer may take longer. */
const BOUND_MS = FETCH_TIMEOUT_MS + 700

let idp: JwksServer
let up: Upstream
let gw: GatewayProcess
let port: number
let cached: string
/** Keys published beside the first one, one per outage (the IdP rotated while it was away). */
const extra: SigningKey[] = []

before(async () => {
  idp = await startJwksServer()
  up = await startOpenAIUpstream('upstream-a')
  port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [sso] }
filters:
  - name: sso
    type: jwt
    config:
      issuer: https://idp.test/
      audiences: [${TEST_AUDIENCE}]
      jwks: { url: "${idp.url}", timeout: ${FETCH_TIMEOUT_MS}ms, max_age: ${MAX_AGE_MS}ms, cooldown: 200ms }
      tenant: { claim: org, map: { org-1: acme } }
      # Low, so that a 503 counted as a failed authentication would show as a 429.
      failures: { max_failures: 3, window: 1m, block: 1m }
tenants:
  - { name: acme }
routes:
  - { name: main, rules: [{ cluster: a }] }
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${up.url}" }] }
`)
  cached = await idp.sign({ org: 'org-1' }, { expiresInSec: 3600 })
  assert.equal((await chat(cached)).text, 'Hello from upstream-a.')
})

after(async () => {
  const code = await gw?.stop()
  await Promise.all([up?.close(), idp?.close()])
  assert.equal(code, 0, `gateway exit code; output:\n${gw?.output()}`)
})

async function chat(token: string, maxRetries = 0): Promise<{ text: string | null; ms: number }> {
  const t0 = performance.now()
  const r = await new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: token, maxRetries })
    .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
  return { text: r.choices[0].message.content, ms: performance.now() - t0 }
}

/** The refusal, and how long it took. */
async function refusal(token: string, maxRetries = 0): Promise<{ e: any; ms: number }> {
  const t0 = performance.now()
  const e = await chat(token, maxRetries).then(() => assert.fail('served'), (e) => e)
  return { e, ms: performance.now() - t0 }
}

function assertUnavailable({ e, ms }: { e: any; ms: number }, token: string, what: string, boundMs = BOUND_MS): void {
  assert.ok(e instanceof OpenAI.InternalServerError, `${what}: ${e}`)
  assert.equal(e.status, 503, what)
  assert.equal(e.code, 'auth_unavailable', what)
  assert.ok(!JSON.stringify(e.error).includes(token.split('.')[2]), `${what}: the body quotes the token`)
  assert.ok(ms < boundMs, `${what}: answered after ${Math.round(ms)} ms (bound ${boundMs} ms)`)
}

const outages = {
  down: { start: () => idp.down(), end: () => idp.up() },
  fail: { start: () => void (idp.mode = 'fail'), end: () => void (idp.mode = 'ok') },
  hang: { start: () => void (idp.mode = 'hang'), end: () => void (idp.mode = 'ok') },
} as const

for (const [kind, outage] of Object.entries(outages)) {
  test(`JWKS ${kind}: cached keys keep serving, an unknown kid is 503 in bounded time, the rotated key is picked up on return`, async () => {
    const rotated = await newSigningKey()
    extra.push(rotated)
    idp.publish(...extra)
    const fresh = await idp.sign({ org: 'org-1' }, { key: rotated })
    const fetchesBefore = idp.fetches
    await outage.start()
    try {
      // Past max_age the cached set is stale: this request starts a background refresh (which
      // fails or hangs) and does not wait for it.
      await sleep(MAX_AGE_MS + 100)
      const served = await chat(cached)
      assert.equal(served.text, 'Hello from upstream-a.')
      assert.ok(served.ms < 400, `the cached key waited ${Math.round(served.ms)} ms for the refresh`)
      // Right after that refresh started (within the cooldown): the kid may be one the IdP
      // published meanwhile, so it cannot be checked: 503, not 401.
      assertUnavailable(await refusal(fresh), fresh, 'unknown kid within the cooldown')
      // Past the cooldown, each try fails fast or costs at most one fetch timeout.
      for (let i = 0; i < 4; i++) {
        assertUnavailable(await refusal(fresh), fresh, `unknown kid, try ${i + 1}`)
        await sleep(150)
      }
      // Not counted as failed authentications (max_failures is 3): the cached key is not blocked.
      assert.equal((await chat(cached)).text, 'Hello from upstream-a.')
      if (kind !== 'down') assert.ok(idp.fetches > fetchesBefore, 'the gateway tried the IdP')
      if (kind === 'fail') {
        // The SDKs retry a 503 (not the caller's fault); it is still 503 after their retries.
        assertUnavailable(await refusal(fresh, 2), fresh, 'unknown kid with the SDK retrying', 3 * BOUND_MS + 4000)
        const e = await new Anthropic({ baseURL: `http://127.0.0.1:${port}`, authToken: fresh, apiKey: null, maxRetries: 0 })
          .messages.create({ model: 'claude-3-5-haiku', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
          .then(() => assert.fail('served'), (e) => e)
        assert.ok(e instanceof Anthropic.InternalServerError, String(e))
        assert.equal(e.status, 503)
        assert.equal((e.error as any)?.error?.type, 'api_error')
      }
    } finally {
      await outage.end()
    }
    // Back: the rotated key is fetched (after the 1 s fail-fast window and the 200 ms cooldown).
    const t0 = performance.now()
    await eventually(async () => chat(fresh).then(() => true, () => false), undefined, 'the rotated key to be accepted')
    const ms = performance.now() - t0
    assert.ok(ms < 2500, `recovered after ${Math.round(ms)} ms`)
    assert.equal((await chat(cached)).text, 'Hello from upstream-a.')
  })
}
