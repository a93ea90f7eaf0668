import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveAdmin } from '../../../src/compiler/resolve/admin.js'
import { effectiveConfig } from '../../../src/compiler/resolve/effective.js'
import { mergedConfig } from '../../support/resolve-docs.js'

test('the effective config has the defaults filled in, references as written and literal credentials masked', () => {
  const { config, ctx } = mergedConfig({
    'c.yaml': `clusters:
  - name: a
    provider: openai
    endpoints:
      - { url: "https://u:pw@api.example/v1", api_key: "\${env:KEY}" }
      - { url: "https://api.example/v1", api_key: sk-literal }
`,
  })
  const shown = effectiveConfig(config, resolveAdmin(config, ctx)) as any
  assert.deepStrictEqual(shown.admin, { address: '127.0.0.1', port: 9901, allowed_hosts: [] })
  assert.deepStrictEqual(shown.runtime, { drain_timeout: '30s' })
  assert.deepStrictEqual(shown.clusters[0].endpoints.map((e: any) => [e.url, e.api_key]), [
    ['https://[redacted]@api.example/v1', '${env:KEY}'],
    ['https://api.example/v1', '[redacted]'],
  ])
  assert.equal(shown.clusters[0].timeout, config.clusters.get('a')?.value.timeout, 'schema defaults are shown')
  assert.deepStrictEqual([shown.listeners, shown.routes, shown.filters], [[], [], []])
})
