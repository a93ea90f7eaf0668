import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveClusters } from '../../../src/compiler/resolve/clusters.js'
import { mergedConfig, shown } from '../../support/resolve-docs.js'

test('durations become milliseconds, header names lower case, and the preset gives the protocol', () => {
  const { config, ctx } = mergedConfig({
    'c.yaml': `clusters:
  - name: a
    provider: anthropic
    endpoints: [{ url: "http://127.0.0.1:1/v1" }]
    timeout: 2s
    lb: ring_hash
    ring_hash: { hash_on: { header: X-User } }
    forward_response_headers: [X-Trace]
    retry_policy: { retry_on: [5xx], num_retries: 2 }
`,
  })
  const [c] = resolveClusters(config, ctx)
  assert.deepStrictEqual(ctx.diags, [])
  assert.equal(c.protocol, 'anthropic')
  assert.equal(c.timeoutMs, 2000)
  assert.equal(c.ringHash.hashHeader, 'x-user')
  assert.deepStrictEqual(c.forwardResponseHeaders, ['x-trace'])
  assert.deepStrictEqual(c.retry?.retryOn, ['5xx'])
  assert.equal(c.continuationPrefill, 'assistant')
  assert.deepStrictEqual(ctx.positions.paths(), ['clusters[0]', 'clusters[0].endpoints[0]'])
})

test('bedrock needs its access keys, and a health check path; each is reported at the cluster', () => {
  const { config, ctx } = mergedConfig({ 'c.yaml': 'clusters:\n  - name: b\n    provider: bedrock\n    health_check: {}\n' })
  resolveClusters(config, ctx)
  assert.deepStrictEqual(shown(ctx.diags).map((s) => s.slice(0, s.indexOf(': '))), [
    'c.yaml:4:19 SY_CFG_SCHEMA clusters[0].health_check',
    'c.yaml:3:15 SY_CFG_SECRET clusters[0].provider',
  ])
})

test('a provider without a default URL needs endpoints; weighted endpoints must not all weigh 0', () => {
  const { config, ctx } = mergedConfig({
    'c.yaml': 'clusters:\n  - { name: o, provider: openai }\n  - { name: w, provider: openai, lb: weighted, endpoints: [{ url: "http://h/v1", weight: 0 }] }\n',
  })
  resolveClusters(config, ctx)
  assert.deepStrictEqual(shown(ctx.diags), [
    "c.yaml:2:26 SY_CFG_NO_ENDPOINTS clusters[0].provider: cluster 'o' with provider 'openai' needs at least one endpoint",
    "c.yaml:3:59 SY_CFG_ZERO_WEIGHT clusters[1].endpoints: endpoint weights of cluster 'w' sum to 0",
  ])
})
