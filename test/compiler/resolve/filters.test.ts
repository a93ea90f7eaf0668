import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveFilters } from '../../../src/compiler/resolve/filters.js'
import { mergedConfig, shown } from '../../support/resolve-docs.js'

const FILES = {
  'a.yaml': 'clusters: [{ name: a, provider: mock }]\n',
  'f.yaml': `filters:
  - name: auth
    type: headers
    config:
      request: { set: [{ name: authorization, value: "Bearer \${env:TOKEN}" }] }
  - name: open
    type: cors
`,
}

test('filters keep their name and type; config references are resolved and declared secret', () => {
  const { config, ctx } = mergedConfig(FILES, { env: { TOKEN: 'tok' } })
  assert.deepStrictEqual(resolveFilters(config, ctx), [
    { name: 'auth', type: 'headers', config: { request: { set: [{ name: 'authorization', value: 'Bearer tok' }] } } },
    { name: 'open', type: 'cors', config: {} },
  ])
  assert.deepStrictEqual(ctx.secrets.declared, ['tok'])
})

test('each filter and its config is recorded under its IR path; a config left out points at its filter', () => {
  const { config, ctx } = mergedConfig(FILES, { env: { TOKEN: 'tok' } })
  resolveFilters(config, ctx)
  assert.deepStrictEqual(ctx.positions.paths(), ['filters[0]', 'filters[0].config', 'filters[1]', 'filters[1].config'])
  assert.equal(ctx.positions.where(['filters', 0, 'config']), 'f.yaml:5:7')
  assert.equal(ctx.positions.where(['filters', 1, 'config']), 'f.yaml:6:5')
})

test('an unresolvable reference in a filter config is reported at its string', () => {
  const { config, ctx } = mergedConfig(FILES)
  resolveFilters(config, ctx)
  assert.deepStrictEqual(shown(ctx.diags), ['f.yaml:5:54 SY_CFG_SECRET filters[0].config.request.set[0].value: ${env:TOKEN} is not set'])
})
