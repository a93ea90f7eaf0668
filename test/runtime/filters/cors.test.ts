/**
 * `cors` filter: config errors (factory and schema), origin matching as a table, then the
 * behaviour in-process through dispatch() with an in-memory Downstream: preflights answered
 * locally whichever rule they match, and the headers on actual (and error) responses.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig } from '../../../src/compiler/index.js'
import { dryBuild } from '../../../src/runtime/build/dry-build.js'
import { createStores } from '../../../src/runtime/stores.js'
import { compileOrigins, create, type CorsConfig } from '../../../src/runtime/filters/cors.js'
import { dispatch } from '../../../src/runtime/http/dispatch.js'
import type { Snapshot } from '../../../src/runtime/types.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'
import { builtSnapshot } from '../../support/built-snapshot.js'

const DEFAULTS: Omit<CorsConfig, 'allow_origins'> = {
  allow_methods: ['GET', 'POST', 'OPTIONS'], allow_headers: ['authorization', 'content-type'], expose_headers: [],
  allow_credentials: false, max_age: '10m',
}
const build = (c: Partial<CorsConfig> & Pick<CorsConfig, 'allow_origins'>) => create({ ...DEFAULTS, ...c }, { stores: createStores() })

// ---- config ----

test('a wildcard origin with credentials is a config error', () => {
  assert.throws(() => build({ allow_origins: ['*'], allow_credentials: true }), /allow_origins '\*' cannot be combined with allow_credentials: true/)
})

test('an origin with a path or trailing slash is refused with the origin it probably means', () => {
  assert.throws(() => build({ allow_origins: ['https://app.example.com/'] }), /'https:\/\/app\.example\.com\/' is not an origin .*did you mean 'https:\/\/app\.example\.com'\?/)
  assert.throws(() => build({ allow_origins: ['app.example.com'] }), /'app\.example\.com' is not an origin/)
  assert.throws(() => build({ allow_origins: ['ftp://files.example.com'] }), /is not an origin/)
})

test("the 'null' origin is refused", () => {
  assert.throws(() => build({ allow_origins: ['null'] }), /'null' is not allowed/)
})

test('a pattern with the star anywhere but the first label is refused', () => {
  assert.throws(() => build({ allow_origins: ['https://app.*.example.com'] }), /is not an origin/)
  assert.throws(() => build({ allow_origins: ['https://*.example.com/x'] }), /is not an origin pattern/)
})

function compileErrors(filterConfig: string): { code: string; path: string; message: string }[] {
  const text = `
listeners: [{ name: l, port: 8080, route_table: t, filters: [c] }]
routes: [{ name: t, rules: [] }]
clusters: []
filters:
  - name: c
    type: cors
    config: ${filterConfig}
`
  const r = compileConfig([{ name: 'cors.yaml', text }], { source: 'test', env: {}, dryBuild })
  return r.ok ? [] : r.diagnostics.map((d) => ({ code: d.code, path: d.path, message: d.message }))
}

test('config errors point at the filter config', () => {
  assert.deepStrictEqual(compileErrors('{ allow_origins: ["*"], allow_credentials: true }').map((d) => [d.code, d.path]), [['SY_CFG_FILTER', 'filters[0].config']])
  assert.deepStrictEqual(compileErrors('{ allow_methods: [GET] }').map((d) => [d.code, d.message]), [['SY_CFG_SCHEMA', "missing required property 'allow_origins'"]])
  assert.deepStrictEqual(compileErrors('{ allow_origins: [x], allow_origin: [y] }').map((d) => [d.code, d.path]), [['SY_CFG_SCHEMA', 'filters[0].config.allow_origin']])
  assert.deepStrictEqual(compileErrors('{ allow_origins: ["https://a.example"], max_age: soon }').map((d) => [d.code, d.path]), [['SY_CFG_SCHEMA', 'filters[0].config.max_age']])
  assert.deepStrictEqual(compileErrors('{ allow_origins: ["https://a.example"] }'), [])
})

test('origin matching', () => {
  const m = compileOrigins(['https://app.example.com', 'http://localhost:5173', 'https://*.example.dev', 'http://*.local.test:8080'])
  const cases: [string, boolean][] = [
    ['https://app.example.com', true],
    ['http://app.example.com', false],
    ['https://app.example.com:8443', false],
    ['https://evil-app.example.com', false],
    ['http://localhost:5173', true],
    ['http://localhost:5174', false],
    ['https://a.example.dev', true],
    ['https://a.b.example.dev', true],
    ['https://example.dev', false],
    ['https://evilexample.dev', false],
    ['http://a.example.dev', false],
    ['https://a.example.dev:444', false],
    ['https://a.example.dev.evil.com', false],
    ['https://a/b.example.dev', false],
    ['http://x.local.test:8080', true],
    ['http://x.local.test', false],
    ['null', false],
  ]
  assert.deepStrictEqual(cases.map(([o]) => [o, m.test(o)]), cases)
})

// ---- behaviour, through dispatch ----

const CONFIG = `
admin: { port: 0 }
listeners:
  - { name: public, port: 8080, route_table: main, filters: [fake-upstream-grant, cors] }
  - { name: open, port: 8081, route_table: main, filters: [cors-any] }
  - { name: creds, port: 8082, route_table: main, filters: [cors-creds], protocol: anthropic }
routes:
  - name: main
    rules:
      - name: chat
        match: { path: { exact: /v1/chat/completions }, methods: [POST], model: { glob: "gpt-*" } }
        cluster: echo
      - name: no-cors
        match: { path: { prefix: /private/ } }
        cluster: echo
        filter_overrides: { cors: { disabled: true } }
      - name: partner
        match: { path: { prefix: /partner/ } }
        cluster: echo
        filter_overrides:
          cors: { config: { allow_origins: ["https://partner.example"] } }
      - name: ping
        match: { path: { exact: /ping } }
        direct_response: { status: 200, body: pong }
clusters:
  - { name: echo, provider: mock }
filters:
  - name: cors
    type: cors
    config:
      allow_origins: ["https://app.example.com", "https://*.example.dev"]
      max_age: 1h
  - name: cors-any
    type: cors
    config: { allow_origins: ["*"], expose_headers: ["x-served-by"] }
  - name: cors-creds
    type: cors
    config: { allow_origins: ["https://app.example.com"], allow_credentials: true }
  - name: fake-upstream-grant
    type: headers
    config: { response: { set: [{ name: access-control-allow-origin, value: "https://evil.example" }, { name: x-served-by, value: gw }] } }
`

function setup(t: TestContext): Snapshot {
  return builtSnapshot(t, 'cors.yaml', CONFIG)
}

async function send(snap: Snapshot, req: { method: string; path?: string; headers?: Record<string, string>; body?: object }, port = 8080) {
  const headers = { ...req.headers }
  let body: Buffer | undefined
  if (req.body) {
    body = Buffer.from(JSON.stringify(req.body))
    headers['content-type'] = 'application/json'
  }
  const down = new MemoryDownstream()
  const ctx = dispatch(snap, snap.listeners.get(port)!, { method: req.method, path: req.path ?? '/v1/chat/completions', query: '', headers, body }, down)
  await down.done
  return { ctx, down, cors: Object.fromEntries(down.headers.filter(([n]) => n.startsWith('access-control-') || n === 'vary')) }
}

const preflight = (origin: string, extra: Record<string, string> = {}) => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type', ...extra },
})
const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }

test('a preflight that matches no rule is answered 204 by the listener cors filter, never by a provider', async (t) => {
  const { ctx, down, cors } = await send(setup(t), preflight('https://app.example.com'))
  assert.equal(down.status, 204)
  assert.equal(ctx.cluster, undefined)
  assert.equal(ctx.endpoint, undefined)
  assert.deepStrictEqual(cors, {
    'access-control-allow-origin': 'https://app.example.com',
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': 'authorization, content-type',
    'access-control-max-age': '3600',
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  })
  assert.equal(down.text(), '')
})

test('a preflight from an origin not allowed is a 403 without CORS headers', async (t) => {
  const { down, cors } = await send(setup(t), preflight('https://evil.example'))
  assert.equal(down.status, 403)
  assert.deepStrictEqual(Object.keys(cors).filter((n) => n.startsWith('access-control-')), [])
  assert.equal(down.json().error.code, 'cors_origin_not_allowed')
})

test('a preflight answer lists only the requested headers that are allowed', async (t) => {
  const { cors } = await send(setup(t), preflight('https://a.example.dev', { 'access-control-request-headers': 'Authorization, x-secret-thing, content-type' }))
  assert.equal(cors['access-control-allow-headers'], 'authorization, content-type')
})

test('the default allow_headers cover what the OpenAI and Anthropic SDKs send from a browser', async (t) => {
  const requested = 'anthropic-dangerous-direct-browser-access,anthropic-version,authorization,content-type,x-api-key,x-stainless-arch,x-stainless-lang,x-stainless-retry-count,x-stainless-timeout'
  const { cors } = await send(setup(t), preflight('https://app.example.com', { 'access-control-request-headers': requested }))
  assert.equal(cors['access-control-allow-headers'], requested.split(',').join(', '))
})

test('OPTIONS without Access-Control-Request-Method is not a preflight and is routed as usual', async (t) => {
  const { ctx, down } = await send(setup(t), { method: 'OPTIONS', headers: { origin: 'https://app.example.com' } })
  assert.equal(down.status, 404)
  assert.equal(ctx.route, undefined)
})

test('a preflight matching a rule uses that rule’s cors override', async (t) => {
  const snap = setup(t)
  const partner = await send(snap, { ...preflight('https://partner.example'), path: '/partner/v1/chat/completions' })
  assert.equal(partner.down.status, 204)
  assert.equal(partner.cors['access-control-allow-origin'], 'https://partner.example')
  assert.equal((await send(snap, { ...preflight('https://app.example.com'), path: '/partner/x' })).down.status, 403)
})

test('a rule with cors disabled gets the preflight as an ordinary request', async (t) => {
  const { ctx, down } = await send(setup(t), { ...preflight('https://app.example.com'), path: '/private/v1/chat/completions' })
  assert.equal(ctx.route?.name, 'no-cors')
  assert.equal(down.status, 404, 'the mock answers OPTIONS with its 404')
  assert.equal(down.header('access-control-allow-origin'), 'https://evil.example', 'only the headers filter touched the response')
  assert.equal(down.header('access-control-allow-methods'), undefined)
})

test('an actual request from an allowed origin gets the origin echoed, Vary and the exposed headers; upstream grants are replaced', async (t) => {
  const { down, cors } = await send(setup(t), { method: 'POST', headers: { origin: 'https://app.example.com' }, body: chat })
  assert.equal(down.status, 200)
  assert.deepStrictEqual(cors, { 'access-control-allow-origin': 'https://app.example.com', 'access-control-expose-headers': 'retry-after, x-request-id, request-id, x-switchyard-cluster, x-switchyard-endpoint', vary: 'Origin' })
  assert.equal(down.headers.filter(([n]) => n === 'access-control-allow-origin').length, 1)
  assert.equal(down.header('x-served-by'), 'gw')
  assert.equal(down.json().choices[0].message.role, 'assistant')
})

test('an actual request from another origin gets no grant, only Vary, and no grant set elsewhere survives', async (t) => {
  const { down, cors } = await send(setup(t), { method: 'POST', headers: { origin: 'https://evil.example' }, body: chat })
  assert.equal(down.status, 200, 'CORS is enforced by browsers; the gateway still answers')
  assert.deepStrictEqual(cors, { vary: 'Origin' })
})

test('a request without Origin gets only Vary: Origin', async (t) => {
  const { cors } = await send(setup(t), { method: 'GET', path: '/ping' })
  assert.deepStrictEqual(cors, { vary: 'Origin' })
})

test('errors the gateway makes itself carry the grant too', async (t) => {
  const { down, cors } = await send(setup(t), { method: 'POST', headers: { origin: 'https://app.example.com' }, body: { model: 'claude-x', messages: [] } })
  assert.equal(down.status, 404)
  assert.equal(cors['access-control-allow-origin'], 'https://app.example.com')
})

test("with '*' the grant is '*' without Vary, and prefix expose names resolve against the response", async (t) => {
  const snap = setup(t)
  const pre = await send(snap, preflight('https://anything.example'), 8081)
  assert.equal(pre.down.status, 204)
  assert.equal(pre.cors['access-control-allow-origin'], '*')
  assert.equal(pre.cors.vary, undefined)
  const actual = await send(snap, { method: 'GET', path: '/ping', headers: { origin: 'https://anything.example' } }, 8081)
  assert.deepStrictEqual(actual.cors, { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'x-served-by' })
})

test('the default expose_headers name the response’s x-switchyard, rate-limit and request-id headers', async (t) => {
  const f = build({ allow_origins: ['https://app.example.com'], expose_headers: ['retry-after', 'x-request-id', 'x-ratelimit-*', 'x-switchyard-*'] })
  const ctx = {
    head: { headers: { origin: 'https://app.example.com' } },
    responseHeaders: [['content-type', 'application/json'], ['x-ratelimit-remaining-tokens', '9'], ['X-Switchyard-Cluster', 'a'], ['x-other', '1']],
  } as any
  f.onResponse!(ctx)
  assert.equal(new Map(ctx.responseHeaders).get('access-control-expose-headers'), 'retry-after, x-request-id, x-ratelimit-remaining-tokens, x-switchyard-cluster')
})

test('with credentials the grant says so, and a refused preflight answers in the listener protocol', async (t) => {
  const snap = setup(t)
  const ok = await send(snap, { ...preflight('https://app.example.com'), path: '/v1/messages' }, 8082)
  assert.equal(ok.cors['access-control-allow-credentials'], 'true')
  const refused = await send(snap, { ...preflight('https://evil.example'), path: '/v1/messages' }, 8082)
  assert.deepStrictEqual([refused.down.status, refused.down.json().type, refused.down.json().error.type], [403, 'error', 'permission_error'])
})
