/**
 * SnapshotIR.secrets lists every secret value the config holds, in every form an upstream may
 * echo it back; the effective config (/config) masks literal credentials and URL userinfo.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compileConfig } from '../../src/compiler/index.js'
import { buildSnapshot, releaseSnapshot } from '../../src/runtime/build/snapshot.js'
import { createStores } from '../../src/runtime/stores.js'

const compile = (yaml: string, env: Record<string, string> = {}, name = 'p.yaml') =>
  compileConfig([{ name, text: yaml }], { source: 'test', env })

const base = (clusters: string, extra = '', rule = '{ cluster: c }', listenerFilters = '[]') => `
listeners: [{ name: l, port: 18080, route_table: t, filters: ${listenerFilters} }]
routes: [{ name: t, rules: [${rule}] }]
clusters:
${clusters}
${extra}`

const ok = (r: ReturnType<typeof compile>) => {
  assert.ok(r.ok, JSON.stringify(r.diagnostics))
  return r.ir
}
const b64 = (s: string) => Buffer.from(s).toString('base64')

test('endpoint api keys, literal or referenced, are secrets', () => {
  const ir = ok(compile(base(`  - name: c
    provider: openai
    endpoints:
      - { url: "http://127.0.0.1:9/v1", api_key: sk-literal-key-1 }
      - { url: "http://127.0.0.1:10/v1", api_key: "\${env:OPENAI_KEY}" }`), { OPENAI_KEY: 'env-key-2' }))
  assert.deepStrictEqual(ir.secrets, ['env-key-2', 'sk-literal-key-1'])
})

test('bedrock access key id, secret access key and session token are secrets', () => {
  const ir = ok(compile(base(`  - name: c
    provider: bedrock
    bedrock: { region: us-east-1, access_key_id: AKIDLITERAL, secret_access_key: "\${env:SK}", session_token: "\${env:ST}" }`), { SK: 'secret-access-value', ST: 'session-token-value' }))
  assert.deepStrictEqual(ir.secrets, ['AKIDLITERAL', 'secret-access-value', 'session-token-value'])
})

test('credential-like header values set by a headers filter are secrets, with the part after the auth scheme', () => {
  const ir = ok(compile(base(`  - { name: c, provider: mock }`, `filters:
  - name: h
    type: headers
    config:
      request:
        set:
          - { name: Authorization, value: "Bearer literal-bearer-1" }
          - { name: x-team, value: search }
        add:
          - { name: x-api-key, value: api-key-literal-2 }
          - { name: cookie, value: "sid=cookie-value-3; theme=dark" }
          - { name: proxy-authorization, value: "Basic ${b64('proxyuser:proxy-pass-4')}" }
      response:
        set:
          - { name: x-served-by, value: switchyard }`, '{ cluster: c }', '[h]')))
  assert.deepStrictEqual(ir.secrets, [
    'Basic ' + b64('proxyuser:proxy-pass-4'),
    'Bearer literal-bearer-1',
    b64('proxyuser:proxy-pass-4'),
    'api-key-literal-2',
    'cookie-value-3',
    'dark',
    'literal-bearer-1',
    'proxy-pass-4',
    'proxyuser:proxy-pass-4',
    'sid=cookie-value-3; theme=dark',
  ].sort())
})

test('a per-rule override of a headers filter contributes its credential values', () => {
  const ir = ok(compile(base(`  - { name: c, provider: mock }`, `filters:
  - { name: h, type: headers, config: { request: { set: [{ name: x-team, value: a }] } } }`,
  `{ cluster: c, filter_overrides: { h: { config: { request: { set: [{ name: x-goog-api-key, value: goog-override-key }] } } } } }`, '[h]')))
  assert.deepStrictEqual(ir.secrets, ['goog-override-key'])
})

test('whatever an env or file reference resolved to is a secret, wherever it appears', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-secrets-'))
  writeFileSync(join(dir, 'body.txt'), 'file-body-value\n')
  const ir = ok(compileConfig([{ name: 'c.yaml', baseDir: dir, text: base(`  - { name: c, provider: mock }`, `filters:
  - name: h
    type: headers
    config: { request: { set: [{ name: x-org, value: "org-\${env:ORG}" }] } }`,
  `{ match: { path: { exact: /x } }, direct_response: { status: 200, body: "\${file:body.txt}" } }, { cluster: c }`, '[h]') }],
  { source: 'test', env: { ORG: 'org-id-from-env' } }))
  assert.deepStrictEqual(ir.secrets, ['file-body-value', 'org-id-from-env'])
})

test('URL userinfo is a secret as password, user:password pair, base64 and Basic value', () => {
  const ir = ok(compile(base(`  - name: c
    provider: openai
    endpoints:
      - { url: "http://us%40er:pw%3Asecret@127.0.0.1:9/v1" }`)))
  const pair = 'us@er:pw:secret'
  assert.deepStrictEqual(ir.secrets, [b64(pair), 'Basic ' + b64(pair), 'pw%3Asecret', 'pw:secret', 'us%40er:pw%3Asecret', pair].sort())
  const e = ir.clusters[0].endpoints[0]
  assert.deepStrictEqual({ url: e.url, origin: e.origin, basicAuth: e.basicAuth }, { url: 'http://[redacted]@127.0.0.1:9/v1', origin: 'http://127.0.0.1:9', basicAuth: 'Basic ' + b64(pair) })
})

test('a URL with only a user name treats the user name as the credential', () => {
  const ir = ok(compile(base(`  - { name: c, provider: openai, endpoints: [{ url: "https://tok-user-only@api.example.com/v1" }] }`)))
  assert.deepStrictEqual(ir.secrets, [b64('tok-user-only:'), 'Basic ' + b64('tok-user-only:'), 'tok-user-only', 'tok-user-only:'].sort())
})

test('an endpoint URL may take its credentials from a reference', () => {
  const ir = ok(compile(base(`  - { name: c, provider: openai, endpoints: [{ url: "https://\${env:CRED}@api.example.com/v1" }] }`), { CRED: 'ref-user:ref-pass-9' }))
  assert.equal(ir.clusters[0].endpoints[0].url, 'https://[redacted]@api.example.com/v1')
  assert.ok(ir.secrets.includes('ref-pass-9') && ir.secrets.includes('ref-user:ref-pass-9'))
  assert.doesNotMatch(JSON.stringify(ir.effective), /ref-pass-9/)
})

test('URL credentials are sent as authorization: Basic and replace the client credential', () => {
  const ir = ok(compile(base(`  - { name: c, provider: anthropic, endpoints: [{ url: "http://u:basic-pw-7@127.0.0.1:9/v1" }] }`)))
  const stores = createStores()
  const snap = buildSnapshot(ir, stores)
  try {
    const e = snap.clusters.get('c')!.endpoints[0]
    assert.equal(e.hasCredentials, true)
    assert.deepStrictEqual(e.baseHeaders, ['anthropic-version', '2023-06-01', 'authorization', 'Basic ' + b64('u:basic-pw-7')])
    assert.equal(e.key, 'c|http://[redacted]@127.0.0.1:9/v1')
    assert.equal(e.origin, 'http://127.0.0.1:9')
  } finally {
    releaseSnapshot(snap, stores)
    void stores.pools.closeAll()
  }
})

test('URL credentials together with api_key, or on bedrock, are rejected without showing them', () => {
  const both = compile(base(`  - { name: c, provider: openai, endpoints: [{ url: "http://u:pw-both-1@127.0.0.1:9/v1", api_key: k-1234 }] }`))
  assert.equal(both.ok, false)
  assert.deepStrictEqual(both.diagnostics.map((d) => [d.code, d.path]), [['SY_CFG_BAD_URL', 'clusters[0].endpoints[0].url']])
  assert.match(both.diagnostics[0].message, /api_key/)
  const bedrock = compile(base(`  - { name: c, provider: bedrock, bedrock: { region: us-east-1, access_key_id: AK, secret_access_key: SK }, endpoints: [{ url: "https://u:pw-bedrock-2@bedrock.example.com" }] }`))
  assert.equal(bedrock.ok, false)
  assert.deepStrictEqual(bedrock.diagnostics.map((d) => [d.code, d.path]), [['SY_CFG_BAD_URL', 'clusters[0].endpoints[0].url']])
  const bad = compile(base(`  - { name: c, provider: openai, endpoints: [{ url: "http://u:pw-bad-3@[::1" }] }`))
  assert.equal(bad.ok, false)
  const text = JSON.stringify([both.diagnostics, bedrock.diagnostics, bad.diagnostics])
  assert.doesNotMatch(text, /pw-both-1|pw-bedrock-2|pw-bad-3/)
})

test('health-check header values are resolved and their credentials are secrets', () => {
  const ir = ok(compile(base(`  - name: c
    provider: openai
    endpoints: [{ url: "http://127.0.0.1:9/v1" }]
    health_check: { headers: { authorization: "Bearer hc-literal-1", x-probe: "\${env:PROBE}" } }`), { PROBE: 'probe-ref-2' }))
  assert.deepStrictEqual(ir.clusters[0].healthCheck!.headers, { authorization: 'Bearer hc-literal-1', 'x-probe': 'probe-ref-2' })
  assert.deepStrictEqual(ir.secrets, ['Bearer hc-literal-1', 'hc-literal-1', 'probe-ref-2'])
})

test('an exact route match on a credential header is a secret', () => {
  const ir = ok(compile(base(`  - { name: c, provider: mock }`, '', `{ match: { headers: [{ name: x-api-key, exact: tenant-key-123 }, { name: x-team, exact: blue }] }, cluster: c }`)))
  assert.deepStrictEqual(ir.secrets, ['tenant-key-123'])
})

test('the effective config masks literal credentials and URL userinfo and keeps references as written', () => {
  const ir = ok(compile(base(`  - name: c
    provider: openai
    endpoints:
      - { url: "http://user:pw-url-1@127.0.0.1:9/v1" }
      - { url: "http://127.0.0.1:10/v1", api_key: "\${env:KEY}" }
    health_check: { headers: { authorization: "Bearer hc-lit-2", x-probe: plain } }`, `filters:
  - name: h
    type: headers
    config:
      request:
        set:
          - { name: authorization, value: "Bearer filter-lit-3" }
          - { name: x-api-key, value: "\${env:KEY}" }
          - { name: proxy-authorization, value: "Bearer \${env:TOK}" }
          - { name: x-team, value: search }`, `{ match: { headers: [{ name: authorization, exact: "Bearer match-lit-4" }] }, cluster: c }`, '[h]'), { KEY: 'key-env-5', TOK: 'tok-env-6' }))
  const eff = ir.effective as any
  const text = JSON.stringify(eff)
  for (const s of ['pw-url-1', 'hc-lit-2', 'filter-lit-3', 'match-lit-4', 'key-env-5', 'tok-env-6', 'user:']) assert.ok(!text.includes(s), `${s} in ${text}`)
  assert.deepStrictEqual(eff.clusters[0].endpoints.map((e: any) => e.url), ['http://[redacted]@127.0.0.1:9/v1', 'http://127.0.0.1:10/v1'])
  assert.deepStrictEqual(eff.clusters[0].health_check.headers, { authorization: '[redacted]', 'x-probe': 'plain' })
  assert.deepStrictEqual(eff.filters[0].config.request.set, [
    { name: 'authorization', value: '[redacted]' },
    { name: 'x-api-key', value: '${env:KEY}' },
    { name: 'proxy-authorization', value: 'Bearer ${env:TOK}' },
    { name: 'x-team', value: 'search' },
  ])
  assert.deepStrictEqual(eff.routes[0].rules[0].match.headers, [{ name: 'authorization', exact: '[redacted]' }])
})
