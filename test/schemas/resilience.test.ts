/**
 * schemas/resilience.schema.json: compiles under ajv strict mode with the other schemas, fills
 * every default, rejects bad values, and documents every property.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import * as Ajv2020Module from 'ajv/dist/2020.js'
import { repoRoot } from '../support/repo-root.js'

const Ajv2020 = Ajv2020Module.default.default ?? Ajv2020Module.default
const BASE = 'https://schemas.switchyard.local/'
const dir = join(repoRoot, 'schemas')
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, useDefaults: true, allowUnionTypes: true })
for (const f of readdirSync(dir)) if (f.endsWith('.schema.json')) ajv.addSchema({ ...JSON.parse(readFileSync(join(dir, f), 'utf8')), $id: BASE + f })
const raw = JSON.parse(readFileSync(join(dir, 'resilience.schema.json'), 'utf8'))

function validate(def: string, value: unknown): boolean {
  return ajv.getSchema(`${BASE}resilience.schema.json#/$defs/${def}`)!(value) as boolean
}

function withDefaults(def: string, value: Record<string, unknown> = {}): unknown {
  assert.ok(validate(def, value), `${def} should accept ${JSON.stringify(value)}`)
  return value
}

test('an empty circuit_breaker block gets every default', () => {
  assert.deepStrictEqual(withDefaults('circuit_breaker'), {
    consecutive_failures: 5, failure_ratio: 0.5, window: '30s', min_requests: 20, open_duration: '10s', max_open_duration: '5m', half_open_probes: 1,
  })
})

test('an empty outlier_detection block gets every default', () => {
  assert.deepStrictEqual(withDefaults('outlier_detection'), {
    consecutive_5xx: 5, consecutive_gateway_errors: 5, latency_factor: 0, latency_min_samples: 20, latency_min_endpoints: 3, latency_alpha: 0.2,
    base_ejection_time: '30s', max_ejection_time: '5m', max_ejection_percent: 50, rate_limit_cooldown: '5s', max_rate_limit_cooldown: '60s',
  })
})

test('an empty health_check block gets every default', () => {
  assert.deepStrictEqual(withDefaults('health_check'), {
    interval: '10s', jitter: '1s', timeout: '2s', healthy_threshold: 2, unhealthy_threshold: 3, method: 'GET', expected_statuses: ['200-299'], headers: {},
  })
})

test('an empty ring_hash block gets every default and no key', () => {
  assert.deepStrictEqual(withDefaults('ring_hash'), { min_ring_size: 1024, max_ring_size: 262144 })
})

test('an empty least_latency block gets every default', () => {
  assert.deepStrictEqual(withDefaults('least_latency'), { decay_time: '10s', default_latency: '500ms' })
})

test('a dynamic_weights block with metrics gets the metrics defaults', () => {
  assert.deepStrictEqual(withDefaults('dynamic_weights', { metrics: {} }), {
    metrics: { path: '/metrics', metric: 'vllm:num_requests_waiting', timeout: '1s' }, interval: '5s', smoothing: 0.5, min_weight_fraction: 0.05,
  })
})

test('dynamic_weights needs exactly one of header and metrics', () => {
  assert.deepStrictEqual([validate('dynamic_weights', {}), validate('dynamic_weights', { header: 'x-queue-depth', metrics: {} }), validate('dynamic_weights', { header: 'x-queue-depth' })], [false, false, true])
})

test('durations must carry a unit', () => {
  assert.deepStrictEqual([validate('circuit_breaker', { window: '30' }), validate('circuit_breaker', { window: '1.5s' })], [false, true])
})

test('out-of-range values are rejected', () => {
  const bad: [string, unknown][] = [
    ['circuit_breaker', { failure_ratio: 1.5 }],
    ['circuit_breaker', { half_open_probes: 0 }],
    ['outlier_detection', { max_ejection_percent: 101 }],
    ['outlier_detection', { latency_alpha: 0 }],
    ['health_check', { expected_statuses: ['2xx'] }],
    ['health_check', { expected_statuses: [] }],
    ['health_check', { path: 'health' }],
    ['ring_hash', { hash_on: {} }],
    ['dynamic_weights', { header: 'x-q', smoothing: 0 }],
  ]
  assert.deepStrictEqual(bad.map(([def, v]) => validate(def, v)), bad.map(() => false))
})

test('unknown keys are rejected', () => {
  assert.equal(validate('circuit_breaker', { open_for: '10s' }), false)
})

test('health check statuses accept codes and ranges', () => {
  assert.equal(validate('health_check', { expected_statuses: [200, '200-399'] }), true)
})

test('every property is documented with a description that states its default', () => {
  const undocumented: string[] = []
  const walk = (path: string, schema: { properties?: Record<string, any>; required?: string[] }) => {
    for (const [k, p] of Object.entries(schema.properties ?? {})) {
      const where = `${path}.${k}`
      if (typeof p.description !== 'string') undocumented.push(`${where}: description`)
      // A required property has no default; every other one states it in the hover text too.
      else if (!schema.required?.includes(k) && !/Default/.test(p.description)) undocumented.push(`${where}: description without default`)
      if (!schema.required?.includes(k) && !('default' in p) && !/Default: none/.test(p.description ?? '')) undocumented.push(`${where}: default`)
      if (p.properties) walk(where, p)
    }
  }
  for (const [name, def] of Object.entries(raw.$defs)) walk(name, def as object)
  assert.deepStrictEqual(undocumented, [])
})

test('a cluster property referencing a block with default {} gets the block filled in (the wiring recipe)', () => {
  const cluster = ajv.compile({
    $id: `${BASE}wiring-example.schema.json`,
    type: 'object',
    properties: { circuit_breaker: { $ref: 'resilience.schema.json#/$defs/circuit_breaker', default: {} } },
  })
  const value: Record<string, unknown> = {}
  assert.deepStrictEqual([cluster(value), value.circuit_breaker], [true, {
    consecutive_failures: 5, failure_ratio: 0.5, window: '30s', min_requests: 20, open_duration: '10s', max_open_duration: '5m', half_open_probes: 1,
  }])
})
