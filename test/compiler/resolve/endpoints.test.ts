import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveEndpoints } from '../../../src/compiler/resolve/endpoints.js'
import { mergedConfig, shown } from '../../support/resolve-docs.js'

function endpointsOf(cluster: string, opts: Parameters<typeof mergedConfig>[1] = {}) {
  const { config, ctx } = mergedConfig({ 'c.yaml': `clusters:\n  - ${cluster}\n` }, opts)
  const [name, c] = [...config.clusters][0]
  return { endpoints: resolveEndpoints(name, c, ['clusters', 0], ctx), ctx }
}

test('without endpoints a preset uses its default URL, and the health check its model list', () => {
  const { endpoints, ctx } = endpointsOf('{ name: local, provider: ollama, health_check: {} }')
  assert.deepStrictEqual(endpoints, [{ url: 'http://127.0.0.1:11434/v1', name: '0', origin: 'http://127.0.0.1:11434', basePath: '/v1', weight: 1, healthPath: '/v1/models' }])
  assert.equal(ctx.positions.where(['clusters', 0, 'endpoints', 0]), 'c.yaml:2:30')
})

test('URL userinfo becomes a Basic credential, is masked in the URL and declared secret', () => {
  const { endpoints, ctx } = endpointsOf('{ name: a, provider: openai, endpoints: [{ url: "https://user:pw@api.example/v1", name: main }] }')
  assert.deepStrictEqual(endpoints, [{ url: 'https://[redacted]@api.example/v1', name: 'main', origin: 'https://api.example', basePath: '/v1', weight: 1, basicAuth: `Basic ${Buffer.from('user:pw').toString('base64')}` }])
  assert.ok(ctx.secrets.declared.includes('pw'))
  assert.equal(ctx.positions.where(['clusters', 0, 'endpoints', 0]), 'c.yaml:2:46')
})

test('an api_key is resolved; a URL that is no URL is reported at the url, without its credentials', () => {
  const { endpoints, ctx } = endpointsOf('{ name: a, provider: openai, endpoints: [{ url: "http://u:p@", api_key: "${env:KEY}" }, { url: "http://h/v1", api_key: "${env:KEY}" }] }', { env: { KEY: 'sk-1' } })
  assert.deepStrictEqual(endpoints.map((e) => [e.url, e.apiKey]), [['http://h/v1', 'sk-1']])
  assert.deepStrictEqual(shown(ctx.diags), ['c.yaml:2:53 SY_CFG_BAD_URL clusters[0].endpoints[0].url: invalid URL "http://[redacted]@"'])
})

test('a mock cluster without endpoints gets its built-in upstream', () => {
  const { endpoints } = endpointsOf('{ name: m, provider: mock }')
  assert.deepStrictEqual(endpoints, [{ url: 'mock://m', name: '0', origin: 'mock://m', basePath: '', weight: 1 }])
})
