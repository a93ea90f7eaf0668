/**
 * The registry's resolve: provider ids merged into the clusters' modelMaps, aliases lowered in
 * rules' model rewrites, registered prices ahead of the `prices` table (and which provider ids
 * they cover), `deprecated_at` readings; no `models` section leaves everything as it was.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveClusters } from '../../../src/compiler/resolve/clusters.js'
import { resolveRouteTables } from '../../../src/compiler/resolve/routes.js'
import { resolvePrices } from '../../../src/compiler/resolve/prices.js'
import { resolveTenants } from '../../../src/compiler/resolve/tenants.js'
import { resolveKeys } from '../../../src/compiler/resolve/keys.js'
import { deprecationTime, resolveModels } from '../../../src/compiler/resolve/models.js'
import { compilePriceTable } from '../../../src/runtime/limits/budget.js'
import { mergedConfig, shown } from '../../support/resolve-docs.js'

function resolve(yaml: string) {
  const { config, ctx } = mergedConfig({ 'c.yaml': yaml })
  const r = resolveModels(config, { clusters: resolveClusters(config, ctx), routeTables: resolveRouteTables(config, new Map(), ctx), prices: resolvePrices(config, ctx), tenants: resolveTenants(config, ctx), keys: resolveKeys(config, ctx) }, ctx)
  return { ...r, diags: shown(ctx.diags) }
}

const BASE = `
routes:
  - name: main
    rules:
      - { match: { model: { exact: big } }, cluster: b, model_rewrite: m4 }
      - fallback: { clusters: [{ cluster: a }, { cluster: b, model_rewrite: m4 }], on: [context_length] }
clusters:
  - { name: a, provider: mock, model_map: { other: other-v2 } }
  - { name: b, provider: mock }
`

test('provider ids join each cluster\'s modelMap; model_map entries stay', () => {
  const r = resolve(`${BASE}
models:
  - { name: gpt-4o, provider_ids: { a: gpt-4o-2024-08-06, b: gpt-4o-eu } }
  - { name: m5, aliases: [m4], provider_ids: { b: m5-preview } }
`)
  assert.deepStrictEqual(r.diags, [])
  assert.deepStrictEqual(r.clusters.map((c) => [c.name, c.modelMap]), [
    ['a', { other: 'other-v2', 'gpt-4o': 'gpt-4o-2024-08-06' }],
    ['b', { 'gpt-4o': 'gpt-4o-eu', m5: 'm5-preview' }],
  ])
  // `m4` is an alias: the rewrites name the model, so cluster b's modelMap finds it.
  const rules = r.routeTables[0].rules
  assert.equal(rules[0].modelRewrite, 'm5')
  assert.deepStrictEqual(rules[1].action, { kind: 'fallback', clusters: [{ cluster: 'a' }, { cluster: 'b', modelRewrite: 'm5' }] })
  assert.deepStrictEqual(r.models!.map((m) => [m.name, m.aliases, m.capabilities]), [
    ['gpt-4o', [], { tools: true, vision: true, jsonMode: true, reasoning: true, streaming: true }],
    ['m5', ['m4'], { tools: true, vision: true, jsonMode: true, reasoning: true, streaming: true }],
  ])
})

test('tenants\' and keys\' model lists: an alias allows its model; globs stay', () => {
  const r = resolve(`${BASE}
tenants: [{ name: t, models: [m4, "gpt-*", other] }]
keys: [{ id: k1, tenant: t, hash: "sha256:${'a'.repeat(64)}", models: [m4] }]
models: [{ name: m5, aliases: [m4] }]
`)
  assert.deepStrictEqual(r.diags, [])
  assert.deepStrictEqual(r.tenants[0].models, ['m5', 'gpt-*', 'other'])
  assert.deepStrictEqual(r.keys[0].models, ['m5'])
})

test('a model_map entry naming the same id as the registry is no conflict', () => {
  const r = resolve(BASE.replace('{ other: other-v2 }', '{ gpt-4o: gpt-4o-2024-08-06 }') + `
models: [{ name: gpt-4o, provider_ids: { a: gpt-4o-2024-08-06 } }]
`)
  assert.deepStrictEqual(r.diags, [])
})

test('registered prices come first, for the name, the aliases and unambiguous provider ids', () => {
  const r = resolve(`${BASE}
prices:
  - { model: "gpt-4o*", input: 100, output: 100 }
  - { model: other, input: 3, output: 4 }
models:
  - { name: gpt-4o, aliases: [four], provider_ids: { a: gpt-4o-2024-08-06, b: shared }, prices: { input: 2.5, output: 10, cached_input: 1.25 } }
  - { name: cheap, provider_ids: { b: shared }, prices: { input: 0.1, output: 0.2 } }
  - { name: unpriced }
`)
  assert.deepStrictEqual(r.diags, [])
  assert.deepStrictEqual(r.prices.map((p) => p.model), ['gpt-4o', 'four', 'cheap', 'gpt-4o-2024-08-06', 'gpt-4o*', 'other'])
  const table = compilePriceTable(r.prices)
  // The glob in `prices` would match the provider id; the registry's exact row wins.
  assert.deepStrictEqual(table.priceOf('gpt-4o-2024-08-06'), { model: 'gpt-4o-2024-08-06', input: 2.5, output: 10, cachedInput: 1.25 })
  // Two models price `shared` differently: no row for it (budgets fall back to the requested name).
  assert.equal(table.priceOf('shared'), undefined)
  assert.equal(table.priceOf('four')!.input, 2.5)
})

test('no models section: clusters, routes and prices pass through unchanged', () => {
  const { config, ctx } = mergedConfig({ 'c.yaml': BASE })
  const clusters = resolveClusters(config, ctx)
  const tables = resolveRouteTables(config, new Map(), ctx)
  const prices = resolvePrices(config, ctx)
  const r = resolveModels(config, { clusters, routeTables: tables, prices, tenants: [], keys: [] }, ctx)
  assert.equal(r.models, undefined)
  assert.equal(r.clusters, clusters)
  assert.equal(r.routeTables, tables)
  assert.equal(r.prices, prices)
})

test('deprecated_at: a date-time with a zone, or a date at midnight UTC', () => {
  assert.equal(deprecationTime('2026-06-30'), Date.UTC(2026, 5, 30))
  assert.equal(deprecationTime('2026-06-30T12:00:00+02:00'), Date.UTC(2026, 5, 30, 10))
  assert.equal(deprecationTime('2026-06-30T12:00:00'), undefined, 'no zone')
  assert.equal(deprecationTime('June 30'), undefined)
})
