/**
 * The `jwt` filter end to end: one gateway process, a local JWKS server (test/support/jwks-server),
 * the official openai client sending the token as its API key (Authorization: Bearer). Valid,
 * expired, wrong audience, rotated signing key, tenant from a claim, a route matched on a claim.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startJwksServer, TEST_AUDIENCE, type JwksServer } from '../support/jwks-server.js'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let idp: JwksServer
let upA: Upstream
let upB: Upstream
let gw: GatewayProcess
let port: number

before(async () => {
  idp = await startJwksServer()
  upA = await startOpenAIUpstream('upstream-a')
  upB = await startOpenAIUpstream('upstream-b')
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
      jwks: { url: "${idp.url}", cooldown: 200ms }
      tenant: { claim: org, map: { org-1: acme, org-2: globex } }
tenants:
  - { name: acme, models: ["*"] }
  - { name: globex, models: [gpt-4o-mini] }
routes:
  - name: main
    rules:
      - name: admins
        match: { claims: [{ name: role, exact: admin }] }
        cluster: b
      - name: globex
        match: { tenant: { exact: globex } }
        cluster: b
      - name: rest
        cluster: a
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${upA.url}" }] }
  - { name: b, provider: openai, endpoints: [{ url: "${upB.url}" }] }
`)
})

after(async () => {
  const code = await gw?.stop()
  await Promise.all([upA?.close(), upB?.close(), idp?.close()])
  assert.equal(code, 0, `gateway exit code; output:\n${gw?.output()}`)
})

const chat = (token: string, model = 'gpt-4o-mini') =>
  new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: token, maxRetries: 0 }).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })
const refused = (p: Promise<unknown>) => p.then(() => assert.fail('served'), (e) => e)

test('a valid token is served; the token never goes upstream', async () => {
  const token = await idp.sign({ sub: 'u1', org: 'org-1' })
  assert.equal((await chat(token)).choices[0].message.content, 'Hello from upstream-a.')
  assert.equal(upA.requests.at(-1)!.headers.authorization, undefined)
})

test('expired, wrong audience, wrong issuer, unmapped tenant: AuthenticationError', async () => {
  for (const [what, token] of [
    ['expired', await idp.sign({ org: 'org-1' }, { expiresInSec: -120 })],
    ['audience', await idp.sign({ org: 'org-1' }, { audience: 'someone-else' })],
    ['issuer', await idp.sign({ org: 'org-1' }, { issuer: 'https://evil.test/' })],
    ['tenant', await idp.sign({ org: 'org-9' })],
    ['garbage', 'not-a-jwt'],
  ] as const) {
    const e = await refused(chat(token))
    assert.ok(e instanceof OpenAI.AuthenticationError, `${what}: ${e}`)
    assert.equal(e.code, 'invalid_api_key', what)
  }
})

test('the tenant comes from the claim: globex may not use gpt-4o (403) and is routed to b', async () => {
  const token = await idp.sign({ org: 'org-2' })
  assert.ok((await refused(chat(token, 'gpt-4o'))) instanceof OpenAI.PermissionDeniedError)
  assert.equal((await chat(token)).choices[0].message.content, 'Hello from upstream-b.')
})

test('a rule matches on a claim', async () => {
  assert.equal((await chat(await idp.sign({ org: 'org-1', role: 'admin' }))).choices[0].message.content, 'Hello from upstream-b.')
  assert.equal((await chat(await idp.sign({ org: 'org-1', role: 'user' }))).choices[0].message.content, 'Hello from upstream-a.')
})

test('a rotated signing key (new kid) is picked up from the JWKS', async () => {
  await chat(await idp.sign({ org: 'org-1' }))
  await idp.rotate()
  const token = await idp.sign({ org: 'org-1' })
  // The first unknown kid refetches at once unless a refetch ran within the cooldown (200ms).
  await eventually(async () => chat(token).then(() => true, () => false), undefined, 'the new kid to be accepted')
})
