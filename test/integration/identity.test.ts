/**
 * Identity end to end: one gateway process with `api_key` and `trusted_header` listeners in front
 * of local OpenAI-format upstreams, called with the official `openai` and `@anthropic-ai/sdk`
 * clients. Each answer as the SDKs see it, the caller's key never upstream, routing on the tenant,
 * and a revoked key refused within a second of the file changing (one process; reset by reload).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { createKeyRecord, type KeyRecord } from '../../src/shared/key-records.js'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let upA: Upstream
let upB: Upstream
let gw: GatewayProcess
let ports: { api: number; proxied: number; untrusted: number; admin: number }
const keys: Record<string, { key: string; record: KeyRecord }> = {}

const now = Date.now()
for (const [name, tenant, extra] of [
  ['free', 'free', {}], ['pro', 'pro', {}], ['narrow', 'pro', { models: ['gpt-4o'] }], ['revoked', 'free', {}], ['late', 'free', {}],
] as const) keys[name] = createKeyRecord({ tenant, id: `${name}-key`, ...extra }, now)

function config(admin: number, o: { revoked?: boolean } = {}): string {
  const keyLines = Object.entries(keys).map(([name, { record }]) => {
    const disabled = name === 'revoked' && o.revoked ? ', disabled: true' : ''
    const expires = name === 'late' ? ', expires_at: "2020-01-01T00:00:00Z"' : ''
    const models = record.models ? `, models: [${record.models.join(', ')}]` : ''
    return `  - { id: ${record.id}, tenant: ${record.tenant}, hash: "${record.hash}"${models}${expires}${disabled} }`
  })
  return `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${ports.api}, route_table: main, filters: [keys] }
  - { name: proxied, address: 127.0.0.1, port: ${ports.proxied}, route_table: main, filters: [from-proxy] }
  - { name: untrusted, address: 127.0.0.1, port: ${ports.untrusted}, route_table: main, filters: [from-elsewhere] }
filters:
  - { name: keys, type: api_key }
  - { name: from-proxy, type: trusted_header, config: { header: x-auth-tenant, sources: [127.0.0.1, "::1"] } }
  - { name: from-elsewhere, type: trusted_header, config: { header: x-auth-tenant, sources: [10.0.0.0/8] } }
tenants:
  - { name: free, labels: { tier: free }, models: [gpt-4o-mini, "claude-*"] }
  - { name: pro, labels: { tier: pro }, models: ["*"] }
routes:
  - name: main
    rules:
      - name: pro
        match: { tenant_labels: [{ name: tier, exact: pro }] }
        cluster: b
      - name: sticky
        match: { model: { exact: sticky } }
        weighted_clusters: { hash_on: tenant, clusters: [{ name: a, weight: 50 }, { name: b, weight: 50 }] }
      - name: rest
        cluster: a
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${upA.url}" }] }
  - { name: b, provider: openai, endpoints: [{ url: "${upB.url}" }] }
keys:
${keyLines.join('\n')}
`
}

const openai = (port: number, apiKey: string, headers?: Record<string, string>) =>
  new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey, maxRetries: 0, ...(headers && { defaultHeaders: headers }) })
const chat = (c: OpenAI, model = 'gpt-4o-mini') => c.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })

async function configVersion(): Promise<string> {
  return ((await (await fetch(`http://127.0.0.1:${ports.admin}/config`)).json()) as { version: string }).version
}

before(async () => {
  upA = await startOpenAIUpstream('upstream-a')
  upB = await startOpenAIUpstream('upstream-b')
  ports = { api: await freePort(), proxied: await freePort(), untrusted: await freePort(), admin: 0 }
  gw = await startGateway((admin) => ((ports.admin = admin), config(admin)))
})

after(async () => {
  const code = await gw?.stop()
  await upA?.close()
  await upB?.close()
  assert.equal(code, 0, `gateway exit code; output:\n${gw?.output()}`)
})

describe('api_key with the openai SDK', () => {
  test('a valid key is served, and the upstream never sees it', async () => {
    const r = await chat(openai(ports.api, keys.free.key))
    assert.equal(r.choices[0].message.content, 'Hello from upstream-a.')
    const seen = upA.requests.at(-1)!
    assert.equal(seen.headers.authorization, undefined)
    assert.equal(seen.headers['x-api-key'], undefined)
    assert.equal(seen.headers['api-key'], undefined)
    assert.ok(!JSON.stringify(seen.headers).includes(keys.free.key))
  })

  test('no key, a wrong key, a mistyped key and an expired key: AuthenticationError (401, invalid_api_key)', async () => {
    const typo = keys.free.key.slice(0, -1) + (keys.free.key.endsWith('a') ? 'b' : 'a')
    const { key: unknown } = createKeyRecord({ tenant: 'free' }, now)
    for (const [what, client] of [
      ['none', new OpenAI({ baseURL: `http://127.0.0.1:${ports.api}/v1`, apiKey: 'x', maxRetries: 0, defaultHeaders: { authorization: null } })],
      ['unknown', openai(ports.api, unknown)],
      ['typo', openai(ports.api, typo)],
      ['opaque', openai(ports.api, 'sk-not-ours')],
      ['expired', openai(ports.api, keys.late.key)],
    ] as const) {
      const e = await chat(client).then(() => assert.fail(`${what}: served`), (e) => e)
      assert.ok(e instanceof OpenAI.AuthenticationError, `${what}: ${e}`)
      assert.equal(e.status, 401, what)
      assert.equal(e.code, 'invalid_api_key', what)
      assert.equal(e.type, 'invalid_request_error', what)
      assert.equal(e.headers.get('www-authenticate'), 'Bearer realm="switchyard"', what)
    }
  })

  test('a model the tenant may not use: PermissionDeniedError (403, model_not_found), before any upstream call', async () => {
    const before = upA.requests.length + upB.requests.length
    const e = await chat(openai(ports.api, keys.free.key), 'gpt-4o').then(() => assert.fail('served'), (e) => e)
    assert.ok(e instanceof OpenAI.PermissionDeniedError, String(e))
    assert.equal(e.code, 'model_not_found')
    assert.match(e.message, /gpt-4o/)
    assert.equal(upA.requests.length + upB.requests.length, before)
  })

  test("a key's models narrow its tenant's", async () => {
    assert.equal((await chat(openai(ports.api, keys.narrow.key), 'gpt-4o')).choices[0].message.content, 'Hello from upstream-b.')
    const e = await chat(openai(ports.api, keys.narrow.key), 'gpt-4o-mini').then(() => assert.fail('served'), (e) => e)
    assert.ok(e instanceof OpenAI.PermissionDeniedError, String(e))
  })

  test('rules match on the tenant: pro keys are served by cluster b', async () => {
    assert.equal((await chat(openai(ports.api, keys.pro.key), 'gpt-4o')).choices[0].message.content, 'Hello from upstream-b.')
  })

  test('hash_on: tenant keeps each tenant on one variant of a weighted split', async () => {
    const seen = new Set<string>()
    for (let i = 0; i < 8; i++) seen.add((await chat(openai(ports.api, keys.free.key), 'sticky').catch((e) => e)).choices?.[0].message.content ?? 'refused')
    assert.equal(seen.size, 1, [...seen].join(' | '))
  })
})

describe('api_key with the Anthropic SDK', () => {
  const anthropic = (apiKey: string) => new Anthropic({ baseURL: `http://127.0.0.1:${ports.api}`, apiKey, maxRetries: 0 })
  const ask = (c: Anthropic, model = 'claude-3-5-haiku') => c.messages.create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })

  test('x-api-key is accepted and not forwarded', async () => {
    const r = await ask(anthropic(keys.free.key))
    assert.equal(r.content[0].type === 'text' && r.content[0].text, 'Hello from upstream-a.')
    const seen = upA.requests.at(-1)!
    assert.equal(seen.headers['x-api-key'], undefined)
    assert.equal(seen.headers.authorization, undefined)
  })

  test('a wrong key: AuthenticationError with error.type authentication_error', async () => {
    const e = await ask(anthropic('sk-ant-wrong')).then(() => assert.fail('served'), (e) => e)
    assert.ok(e instanceof Anthropic.AuthenticationError, String(e))
    assert.equal(e.status, 401)
    assert.equal((e.error as any)?.error?.type, 'authentication_error')
  })

  test('a forbidden model: PermissionDeniedError with error.type permission_error', async () => {
    const e = await ask(anthropic(keys.free.key), 'gpt-4o').then(() => assert.fail('served'), (e) => e)
    assert.ok(e instanceof Anthropic.PermissionDeniedError, String(e))
    assert.equal((e.error as any)?.error?.type, 'permission_error')
  })
})

describe('trusted_header', () => {
  test('from a configured proxy address the header names the tenant; it is not forwarded', async () => {
    const r = await chat(openai(ports.proxied, 'ignored', { 'x-auth-tenant': 'pro' }), 'gpt-4o')
    assert.equal(r.choices[0].message.content, 'Hello from upstream-b.')
    const seen = upB.requests.at(-1)!
    assert.equal(seen.headers['x-auth-tenant'], undefined)
    assert.equal(seen.headers.authorization, undefined)
  })

  test('from any other address it is not believed: 401', async () => {
    const e = await chat(openai(ports.untrusted, 'ignored', { 'x-auth-tenant': 'pro' }), 'gpt-4o').then(() => assert.fail('served'), (e) => e)
    assert.ok(e instanceof OpenAI.AuthenticationError, String(e))
  })

  test('an unknown tenant, or none, from the proxy: 401', async () => {
    for (const headers of [{ 'x-auth-tenant': 'nobody' }, undefined]) {
      const e = await chat(openai(ports.proxied, 'ignored', headers)).then(() => assert.fail('served'), (e) => e)
      assert.ok(e instanceof OpenAI.AuthenticationError, String(e))
    }
  })
})

describe('admin', () => {
  test('/keys and /tenants name keys by id and show no hash; /config masks the hashes', async () => {
    const text = [await (await fetch(`http://127.0.0.1:${ports.admin}/keys`)).text(), await (await fetch(`http://127.0.0.1:${ports.admin}/tenants`)).text(), await (await fetch(`http://127.0.0.1:${ports.admin}/config`)).text()].join('\n')
    for (const { key, record } of Object.values(keys)) {
      assert.ok(!text.includes(record.hash.slice(7)), `hash of ${record.id} shown`)
      assert.ok(!text.includes(key), `key ${record.id} shown`)
    }
    const listed = (await (await fetch(`http://127.0.0.1:${ports.admin}/keys`)).json()) as { keys: { id: string; state: string }[] }
    assert.deepEqual(listed.keys.find((k) => k.id === 'late-key')?.state, 'expired')
    const tenants = (await (await fetch(`http://127.0.0.1:${ports.admin}/tenants`)).json()) as { tenants: { name: string; keys: number }[] }
    assert.deepEqual(tenants.tenants.map((t) => [t.name, t.keys]), [['free', 3], ['pro', 2]])
  })
})

describe('revocation', () => {
  test('a key revoked in the file is refused within a second', async () => {
    const c = openai(ports.api, keys.revoked.key)
    await chat(c)
    const before = await configVersion()
    const t0 = performance.now()
    gw.writeConfig(config(ports.admin, { revoked: true }))
    let refusedAt = 0
    await eventually(async () => {
      const ok = await chat(c).then(() => true, (e) => !(e instanceof OpenAI.AuthenticationError))
      if (!ok) refusedAt = performance.now()
      return !ok
    }, undefined, 'the revoked key to be refused')
    assert.ok(refusedAt - t0 < 1000, `refused after ${Math.round(refusedAt - t0)} ms`)
    assert.notEqual(await configVersion(), before)
    // Other keys are unaffected by the reload.
    assert.equal((await chat(openai(ports.api, keys.free.key))).choices[0].message.content, 'Hello from upstream-a.')
    gw.writeConfig(config(ports.admin))
    await eventually(async () => chat(c).then(() => true, () => false), undefined, 'reset')
  })
})
