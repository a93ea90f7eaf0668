import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig } from '../../src/compiler/index.js'

const compile = (clusters: string, env: Record<string, string> = {}) =>
  compileConfig([{ name: 'p.yaml', text: `
listeners: [{ name: l, port: 18080, route_table: t }]
routes: [{ name: t, rules: [{ cluster: c }] }]
clusters:
${clusters}
` }], { source: 'test', env })

const presets: [string, string, string][] = [
  ['vllm', 'http://127.0.0.1:8000/v1', '/v1'],
  ['ollama', 'http://127.0.0.1:11434/v1', '/v1'],
  ['deepseek', 'https://api.deepseek.com/v1', '/v1'],
  ['qwen', 'https://dashscope.aliyuncs.com/compatible-mode/v1', '/compatible-mode/v1'],
  ['moonshot', 'https://api.moonshot.cn/v1', '/v1'],
  ['mistral', 'https://api.mistral.ai/v1', '/v1'],
  ['groq', 'https://api.groq.com/openai/v1', '/openai/v1'],
  ['openrouter', 'https://openrouter.ai/api/v1', '/api/v1'],
  ['anthropic', 'https://api.anthropic.com/v1', '/v1'],
  ['gemini', 'https://generativelanguage.googleapis.com', ''],
]

for (const [provider, url, basePath] of presets) {
  test(`provider ${provider} without endpoints gets its default URL`, () => {
    const r = compile(`  - { name: c, provider: ${provider} }`)
    assert.ok(r.ok, JSON.stringify(r.diagnostics))
    const c = r.ir.clusters[0]
    assert.deepEqual({ url: c.endpoints[0].url, basePath: c.endpoints[0].basePath }, { url, basePath })
    assert.equal(c.protocol, provider === 'anthropic' || provider === 'gemini' ? provider : 'openai')
  })
}

test('bedrock defaults to the regional endpoint and needs credentials', () => {
  const missing = compile(`  - { name: c, provider: bedrock, bedrock: { region: eu-west-1 } }`)
  assert.equal(missing.ok, false)
  assert.deepEqual(missing.diagnostics.map((d) => [d.code, d.path]), [['SY_CFG_SECRET', 'clusters[0].provider']])
  const ok = compile(`  - { name: c, provider: bedrock, bedrock: { region: eu-west-1, access_key_id: "\${env:AK}", secret_access_key: "\${env:SK}" } }`, { AK: 'AKID', SK: 'very-secret-value' })
  assert.ok(ok.ok)
  assert.equal(ok.ir.clusters[0].endpoints[0].url, 'https://bedrock-runtime.eu-west-1.amazonaws.com')
  assert.doesNotMatch(JSON.stringify(ok.ir.effective), /very-secret-value/)
})

test('openai and azure_openai need explicit endpoints', () => {
  for (const p of ['openai', 'azure_openai']) {
    const r = compile(`  - { name: c, provider: ${p} }`)
    assert.equal(r.ok, false)
    assert.equal(r.diagnostics[0].code, 'SY_CFG_NO_ENDPOINTS')
  }
})

test('model_map and azure deployments land in the IR', () => {
  const r = compile(`  - name: c
    provider: azure_openai
    endpoints: [{ url: "https://x.openai.azure.com", api_key: k }]
    model_map: { fast: gpt-4o-mini }
    azure: { deployments: { gpt-4o-mini: dep1 } }`)
  assert.ok(r.ok, JSON.stringify(r.diagnostics))
  assert.deepEqual(r.ir.clusters[0].modelMap, { fast: 'gpt-4o-mini' })
  assert.deepEqual(r.ir.clusters[0].azure, { apiVersion: '2024-10-21', deployments: { 'gpt-4o-mini': 'dep1' } })
})

test("a health_check without a path checks each endpoint at its provider's model list; an explicit path wins", () => {
  const paths: Record<string, string | undefined> = {}
  for (const [provider, extra] of [['vllm', ''], ['groq', ''], ['anthropic', ''], ['gemini', ''], ['azure_openai', ', endpoints: [{ url: "https://r.openai.azure.com" }], azure: { api_version: "2024-10-21" }']]) {
    const r = compile(`  - { name: c, provider: ${provider}, health_check: {}${extra} }`)
    assert.ok(r.ok, JSON.stringify(r.diagnostics))
    paths[provider] = r.ir.clusters[0].endpoints[0].healthPath
    assert.equal(r.ir.clusters[0].healthCheck?.path, undefined)
  }
  assert.deepEqual(paths, {
    vllm: '/v1/models', groq: '/openai/v1/models', anthropic: '/v1/models', gemini: '/v1beta/models', azure_openai: '/openai/models?api-version=2024-10-21',
  })
  const explicit = compile(`  - { name: c, provider: vllm, health_check: { path: /health } }`)
  assert.ok(explicit.ok, JSON.stringify(explicit.diagnostics))
  assert.deepEqual([explicit.ir.clusters[0].healthCheck?.path, explicit.ir.clusters[0].endpoints[0].healthPath], ['/health', undefined])
})

test('bedrock has no default health check path: the config must name one', () => {
  const r = compile(`  - { name: c, provider: bedrock, health_check: {}, bedrock: { region: eu-west-1, access_key_id: "\${env:AK}", secret_access_key: "\${env:SK}" } }`, { AK: 'AKID', SK: 'sk' })
  assert.deepEqual(r.diagnostics.map((d) => [d.code, d.path, d.message]), [['SY_CFG_SCHEMA', 'clusters[0].health_check', "cluster 'c': provider 'bedrock' has no unsigned endpoint to check by default; set health_check.path"]])
})
