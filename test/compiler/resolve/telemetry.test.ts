import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig } from '../../../src/compiler/index.js'

const base = `
listeners: [{ name: api, port: 18998, route_table: main }]
routes: [{ name: main, rules: [{ name: r, match: { path: { prefix: / } }, cluster: m }] }]
clusters: [{ name: m, provider: mock }]
`

test('telemetry.tracing: defaults filled in, header references resolved as secrets and shown as references in the effective config', () => {
  const text = `telemetry:\n  tracing:\n    endpoint: http://127.0.0.1:4318/v1/traces\n    headers: { authorization: "Bearer \${env:OTEL_TOKEN}" }\n${base}`
  const r = compileConfig([{ name: 't.yaml', text }], { source: 'test', env: { OTEL_TOKEN: 'otel-token-value-123' } })
  if (!r.ok) assert.fail(r.diagnostics.map((d) => d.message).join('\n'))
  assert.deepStrictEqual(r.ir.telemetry?.tracing, {
    endpoint: 'http://127.0.0.1:4318/v1/traces', headers: { authorization: 'Bearer otel-token-value-123' }, sampleRatio: 1, parentBased: true,
    serviceName: 'switchyard', resourceAttributes: {}, maxBatchSize: 512, batchIntervalMs: 5000, maxQueueSize: 2048, exportTimeoutMs: 10_000,
  })
  assert.ok(r.ir.secrets.includes('otel-token-value-123'))
  assert.ok(!JSON.stringify(r.ir.effective).includes('otel-token-value-123'))
  assert.ok(JSON.stringify(r.ir.effective).includes('${env:OTEL_TOKEN}'))
})

test('telemetry.tracing: an endpoint that is not an http(s) URL and a ratio above 1 are errors at their positions', () => {
  const text = `telemetry:\n  tracing:\n    endpoint: 127.0.0.1:4318\n${base}`
  const r = compileConfig([{ name: 't.yaml', text }], { source: 'test', env: {} })
  assert.equal(r.ok, false)
  assert.deepStrictEqual(r.diagnostics.map((d) => [d.code, d.line, d.col]), [['SY_CFG_BAD_URL', 3, 15]])
  const bad = compileConfig([{ name: 't.yaml', text: `telemetry: { tracing: { endpoint: "http://x/v1/traces", sampler: { ratio: 2 } } }\n${base}` }], { source: 'test', env: {} })
  assert.equal(bad.ok, false)
  assert.deepStrictEqual(bad.diagnostics.map((d) => [d.code, d.path, d.message]), [['SY_CFG_SCHEMA', 'telemetry.tracing.sampler.ratio', 'must be <= 1']])
})
