import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mergedConfig, shown } from '../../support/resolve-docs.js'

test('objects of every document are merged by kind, in document order', () => {
  const { config, ctx } = mergedConfig({
    'a.yaml': 'clusters: [{ name: one, provider: mock }]\nfilters: [{ name: f, type: cors }]\n',
    'b.yaml': 'clusters: [{ name: two, provider: mock }]\nadmin: { port: 0 }\n',
  })
  assert.deepStrictEqual(ctx.diags, [])
  assert.deepStrictEqual([...config.clusters.keys()], ['one', 'two'])
  assert.deepStrictEqual(config.clusters.get('two')?.at, ['clusters', 0])
  assert.equal(config.clusters.get('two')?.doc.source, 'b.yaml')
  assert.deepStrictEqual([...config.filters.keys()], ['f'])
  assert.equal(config.admin?.doc.source, 'b.yaml')
  assert.equal(config.runtime, undefined)
})

test('a name defined twice is reported at the second definition (kind by kind), citing the first; the first stays', () => {
  const { config, ctx } = mergedConfig({
    'a.yaml': 'clusters: [{ name: one, provider: mock }]\nroutes: [{ name: t, rules: [{ cluster: one }] }]\n',
    'b.yaml': 'clusters:\n  - { name: one, provider: openai, endpoints: [{ url: "http://h/v1" }] }\nroutes: [{ name: t, rules: [{ cluster: one }] }]\n',
  })
  assert.deepStrictEqual(shown(ctx.diags), [
    "b.yaml:3:18 SY_CFG_DUPLICATE routes[0].name: duplicate route table 't' (first defined at a.yaml:2:10)",
    "b.yaml:2:13 SY_CFG_DUPLICATE clusters[0].name: duplicate cluster 'one' (first defined at a.yaml:1:12)",
  ])
  assert.equal(config.clusters.get('one')?.value.provider, 'mock')
})

test('a second admin or runtime section is a duplicate too', () => {
  const { ctx } = mergedConfig({ 'a.yaml': 'admin: { port: 0 }\nruntime: { drain_timeout: 1s }\n', 'b.yaml': 'admin: { port: 1 }\nruntime: { drain_timeout: 2s }\n' })
  assert.deepStrictEqual(shown(ctx.diags), [
    'b.yaml:1:8 SY_CFG_DUPLICATE admin: duplicate admin section (first defined at a.yaml:1:8)',
    'b.yaml:2:10 SY_CFG_DUPLICATE runtime: duplicate runtime section (first defined at a.yaml:2:10)',
  ])
})
