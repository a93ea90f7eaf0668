/**
 * What a valid config compiles to: schema defaults in the IR, secrets resolved in the IR but shown
 * as references in `effective`, a content-hash version, directory loading merged by kind.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { compileConfig, readPathSources, type SourceText } from '../../src/compiler/index.js'
import type { SnapshotIR } from '../../src/compiler/ir.js'
import { fixturesDir } from '../support/repo-root.js'

const validDir = join(fixturesDir, 'valid')
const env = { SY_VALID_KEY: 'sk-SECRET-valid-env-a1b2c3', SY_VALID_ORG: 'SECRET-org-42' }
const FILE_SECRET = readFileSync(join(validDir, 'secrets', 'openai-key.txt'), 'utf8').trim()

function compileOk(sources: readonly SourceText[], e: NodeJS.ProcessEnv = env): SnapshotIR {
  const r = compileConfig(sources, { source: 'test', env: e })
  assert.deepStrictEqual(r.diagnostics, [])
  assert.ok(r.ok)
  return r.ir
}

/** The given keys of `o` only: other work may add IR fields; these tests pin the ones they name. */
function pick<T extends object>(o: T, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, (o as Record<string, unknown>)[k]]))
}

const fixture = (name: string) => compileOk(readPathSources(join(validDir, name)))
const inline = (text: string, e?: NodeJS.ProcessEnv) => compileOk([{ name: 'inline.yaml', text, baseDir: validDir }], e)

test('a mock cluster gets every schema default and one mock:// endpoint', () => {
  const ir = fixture('defaults.yaml')
  const keys = ['name', 'provider', 'lb', 'timeoutMs', 'connectTimeoutMs', 'pool', 'endpoints', 'mock']
  assert.deepStrictEqual(ir.clusters.map((c) => pick(c, keys)), [
    {
      name: 'local',
      provider: 'mock',
      lb: 'round_robin',
      timeoutMs: 120_000,
      connectTimeoutMs: 5_000,
      pool: { connections: 64, keepAliveMs: 60_000, protocol: 'http1', maxConcurrentStreams: 100 },
      endpoints: [{ url: 'mock://local', name: '0', origin: 'mock://local', basePath: '', weight: 1 }],
      mock: { chunks: 4, chunkDelayMs: 0, latencyMs: 0 },
    },
  ])
})

test('a listener defaults to 0.0.0.0, a 4 MiB body limit, the openai protocol and no filters', () => {
  const ir = fixture('defaults.yaml')
  assert.deepStrictEqual(ir.listeners, [
    { name: 'public', address: '0.0.0.0', port: 8080, routeTable: 'main', filters: [], maxBodyBytes: 4 * 1024 * 1024, protocol: 'openai', routingHeaders: true },
  ])
})

test('the admin API defaults to 127.0.0.1:9901 and the drain timeout to 30 s', () => {
  const ir = fixture('defaults.yaml')
  assert.deepStrictEqual({ admin: ir.admin, drainTimeoutMs: ir.drainTimeoutMs }, { admin: { address: '127.0.0.1', port: 9901, allowedHosts: [] }, drainTimeoutMs: 30_000 })
})

test('a rule without a name is named after its table and index, with an empty match', () => {
  const ir = fixture('defaults.yaml')
  assert.deepStrictEqual(ir.routeTables, [
    { name: 'main', rules: [{ name: 'main[0]', index: 0, match: { headers: [], query: [] }, action: { kind: 'cluster', cluster: 'local' }, filterOverrides: {}, streamRecovery: 'error' }] },
  ])
})

test('durations and sizes are converted to milliseconds and bytes', () => {
  const ir = inline(`
runtime: { drain_timeout: 1.5s }
listeners: [{ name: l, port: 8080, route_table: t, max_body: 512kb }]
routes: [{ name: t, rules: [{ cluster: c, timeout: 2m }] }]
clusters:
  - name: c
    provider: mock
    timeout: 1h
    connect_timeout: 250ms
    pool: { keep_alive: 90s }
    mock: { chunk_delay: 20ms, latency: 0.5s }
`)
  assert.deepStrictEqual(
    {
      drain: ir.drainTimeoutMs,
      maxBody: ir.listeners[0].maxBodyBytes,
      ruleTimeout: ir.routeTables[0].rules[0].timeoutMs,
      timeout: ir.clusters[0].timeoutMs,
      connect: ir.clusters[0].connectTimeoutMs,
      keepAlive: ir.clusters[0].pool.keepAliveMs,
      chunkDelay: ir.clusters[0].mock.chunkDelayMs,
      latency: ir.clusters[0].mock.latencyMs,
    },
    { drain: 1500, maxBody: 512 * 1024, ruleTimeout: 120_000, timeout: 3_600_000, connect: 250, keepAlive: 90_000, chunkDelay: 20, latency: 500 },
  )
})

test('header match names are lower-cased and query names kept as written', () => {
  const ir = inline(`
listeners: [{ name: l, port: 8080, route_table: t }]
routes:
  - name: t
    rules:
      - match:
          headers: [{ name: X-Tenant, exact: Acme }]
          query: [{ name: API-Version, present: true }]
        cluster: c
clusters: [{ name: c, provider: mock }]
`)
  const m = ir.routeTables[0].rules[0].match
  assert.deepStrictEqual({ headers: m.headers, query: m.query }, {
    headers: [{ name: 'x-tenant', kind: 'exact', value: 'Acme' }],
    query: [{ name: 'API-Version', kind: 'present' }],
  })
})

test('${env:} and ${file:} credentials resolve into the IR; a trailing newline of a secret file is dropped', () => {
  const ir = fixture('secrets.yaml')
  assert.deepStrictEqual(ir.clusters[0].endpoints.map((e) => e.apiKey), [env.SY_VALID_KEY, FILE_SECRET, 'sk-LITERAL-inline-1234'])
})

test('${env:} inside a filter config resolves into the filter IR', () => {
  const ir = fixture('secrets.yaml')
  assert.deepStrictEqual(ir.filters, [
    { name: 'upstream-tag', type: 'headers', config: { request: { set: [{ name: 'x-org', value: `org-${env.SY_VALID_ORG}` }] } } },
  ])
})

test('openai endpoints get /v1 as base path when the URL has none, and lose a trailing slash', () => {
  const ir = fixture('secrets.yaml')
  assert.deepStrictEqual(
    ir.clusters[0].endpoints.map((e) => ({ origin: e.origin, basePath: e.basePath })),
    [
      { origin: 'http://127.0.0.1:9', basePath: '/v1' },
      { origin: 'http://127.0.0.1:10', basePath: '/v1' },
      { origin: 'https://api.example.com', basePath: '/openai/v1' },
    ],
  )
})

test('the effective config shows secret references as written and masks a literal api_key', () => {
  const ir = fixture('secrets.yaml')
  const effective = ir.effective as { clusters: { endpoints: { api_key: string }[] }[]; filters: { config: any }[] }
  assert.deepStrictEqual(effective.clusters[0].endpoints.map((e) => e.api_key), ['${env:SY_VALID_KEY}', '${file:secrets/openai-key.txt}', '[redacted]'])
  assert.deepStrictEqual(effective.filters[0].config.request.set, [{ name: 'x-org', value: 'org-${env:SY_VALID_ORG}' }])
})

test('no secret value appears anywhere in the effective config', () => {
  const text = JSON.stringify(fixture('secrets.yaml').effective)
  assert.deepStrictEqual([env.SY_VALID_KEY, env.SY_VALID_ORG, FILE_SECRET, 'sk-LITERAL-inline-1234'].filter((s) => text.includes(s)), [])
})

test('the effective config carries the schema defaults', () => {
  const effective = fixture('defaults.yaml').effective as any
  const clusterKeys = ['name', 'provider', 'lb', 'timeout', 'connect_timeout', 'pool', 'endpoints', 'mock']
  assert.deepStrictEqual(
    { listener: effective.listeners[0], cluster: pick(effective.clusters[0], clusterKeys) },
    {
      listener: { name: 'public', port: 8080, route_table: 'main', address: '0.0.0.0', filters: [], max_body: '4mb', access_log: false, routing_headers: true, protocol: 'openai' },
      cluster: {
        name: 'local', provider: 'mock', lb: 'round_robin', timeout: '120s', connect_timeout: '5s',
        pool: { connections: 64, keep_alive: '60s', protocol: 'http1', max_concurrent_streams: 100 }, endpoints: [], mock: { chunks: 4, chunk_delay: '0ms', latency: '0ms' },
      },
    },
  )
})

test('the IR is plain data that survives structured cloning unchanged', () => {
  const ir = fixture('secrets.yaml')
  assert.deepStrictEqual(structuredClone(ir), ir)
  assert.deepStrictEqual(JSON.parse(JSON.stringify(ir)), ir)
})

const base = `
listeners: [{ name: l, port: 8080, route_table: t }]
routes: [{ name: t, rules: [{ cluster: c }] }]
clusters: [{ name: c, provider: openai, endpoints: [{ url: "http://127.0.0.1:9", api_key: "\${env:SY_VALID_KEY}" }] }]
`

test('the version is a 12-hex-digit hash, the same for the same input', () => {
  const a = inline(base).version
  const b = inline(base).version
  assert.match(a, /^[0-9a-f]{12}$/)
  assert.equal(a, b)
})

test('comments and formatting do not change the version', () => {
  const reformatted = `# a comment\n${base.replace('[{ name: l, port: 8080, route_table: t }]', '\n  - name: l\n    port: 8080   # http\n    route_table: t')}`
  assert.equal(inline(reformatted).version, inline(base).version)
})

test('the version changes when the config changes', () => {
  assert.notEqual(inline(base.replace('8080', '8081')).version, inline(base).version)
})

test('the version changes when a referenced secret changes, so a rotated key is reloaded', () => {
  assert.notEqual(inline(base, { SY_VALID_KEY: 'sk-SECRET-rotated' }).version, inline(base).version)
})

test('an explicit version (an etcd revision) replaces the content hash', () => {
  const r = compileConfig([{ name: 'inline.yaml', text: base }], { source: 'etcd', version: 'rev-42', env })
  assert.ok(r.ok)
  assert.deepStrictEqual({ version: r.ir.version, source: r.ir.source }, { version: 'rev-42', source: 'etcd' })
})

test('directory loading reads *.yaml and *.yml files in name order and skips other files', () => {
  const dir = join(validDir, 'split')
  assert.deepStrictEqual(
    readPathSources(dir).map((s) => s.name),
    ['00-listeners.yaml', '10-routes.yaml', '20-clusters.yaml', '30-filters.yml'].map((f) => join(dir, f)),
  )
})

test('directory loading merges every kind across files and documents', () => {
  const ir = fixture('split')
  assert.deepStrictEqual(
    {
      listeners: ir.listeners.map((l) => `${l.name}:${l.port}->${l.routeTable} [${l.filters.join(',')}]`),
      routeTables: ir.routeTables.map((t) => t.name),
      clusters: ir.clusters.map((c) => c.name),
      filters: ir.filters.map((f) => `${f.name}:${f.type}`),
    },
    {
      listeners: ['public:8080->main [tag]', 'internal:8081->internal []'],
      routeTables: ['main', 'internal'],
      clusters: ['a'],
      filters: ['tag:headers'],
    },
  )
})
