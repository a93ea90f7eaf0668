import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveClusters } from '../../../src/compiler/resolve/clusters.js'
import { resolveFilters } from '../../../src/compiler/resolve/filters.js'
import { continuationWarnings, resolveRouteTables } from '../../../src/compiler/resolve/routes.js'
import { mergedConfig, shown } from '../../support/resolve-docs.js'

function resolved(routes: string, opts: Parameters<typeof mergedConfig>[1] = {}) {
  const { config, ctx } = mergedConfig({
    'c.yaml': 'clusters: [{ name: a, provider: mock }, { name: b, provider: mock }]\nfilters: [{ name: tag, type: headers }]\n',
    'r.yaml': routes,
  }, opts)
  const clusters = resolveClusters(config, ctx)
  const filters = resolveFilters(config, ctx)
  const tables = resolveRouteTables(config, new Map(filters.map((f) => [f.name, f.type])), ctx)
  return { tables, clusters, ctx }
}

test('a rule lowers its match (header names lower-cased), action and timeouts; unnamed rules are named by position', () => {
  const { tables, ctx } = resolved(`routes:
  - name: main
    rules:
      - match: { path: { prefix: /v1 }, headers: [{ name: X-Team, exact: search }], model: { glob: "gpt-*" } }
        weighted_clusters: { clusters: [{ name: a, weight: 1 }, { name: b, weight: 3 }], hash_on: { header: X-User } }
        timeout: 10s
`)
  assert.deepStrictEqual(ctx.diags, [])
  const [rule] = tables[0].rules
  assert.equal(rule.name, 'main[0]')
  assert.deepStrictEqual(rule.match, { path: { kind: 'prefix', value: '/v1' }, headers: [{ name: 'x-team', kind: 'exact', value: 'search' }], query: [], model: { kind: 'glob', value: 'gpt-*' } })
  assert.deepStrictEqual(rule.action, { kind: 'weighted', clusters: [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }], hashHeader: 'x-user' })
  assert.equal(rule.timeoutMs, 10_000)
})

test('unknown clusters and filters, and regexes the engine refuses, are reported where they are written', () => {
  const { ctx } = resolved(`routes:
  - name: main
    rules:
      - match: { path: { regex: "(a)\\\\1" } }
        fallback: { clusters: [{ cluster: a }, { cluster: nope }] }
        filter_overrides: { nope: { disabled: true } }
`)
  assert.deepStrictEqual(shown(ctx.diags).map((s) => s.slice(0, s.indexOf(': '))), [
    'r.yaml:4:33 SY_CFG_BAD_REGEX routes[0].rules[0].match.path.regex',
    'r.yaml:5:59 SY_CFG_UNKNOWN_CLUSTER routes[0].rules[0].fallback.clusters[1].cluster',
    'r.yaml:6:29 SY_CFG_UNKNOWN_FILTER routes[0].rules[0].filter_overrides.nope',
  ])
  assert.match(ctx.diags[1].message, /\(known: a, b\)$/)
})

test('an override config is checked against its filter schema and recorded under its IR path', () => {
  const { tables, ctx } = resolved(`routes:
  - name: main
    rules:
      - name: chat
        cluster: a
        filter_overrides:
          tag: { config: { response: { set: [{ name: x-team, value: chat }] } } }
      - cluster: a
        filter_overrides: { tag: { config: { nonsense: 1 } } }
`)
  assert.deepStrictEqual(tables[0].rules[0].filterOverrides, { tag: { config: { response: { set: [{ name: 'x-team', value: 'chat' }] } } } })
  assert.equal(ctx.positions.where(['routeTables', 0, 'rules', 0, 'filterOverrides', 'tag', 'config']), 'r.yaml:7:26')
  assert.equal(ctx.positions.where(['routeTables', 0, 'rules', 1]), 'r.yaml:8:9')
  assert.deepStrictEqual(ctx.diags.map((d) => `${d.line}:${d.col} ${d.code} ${d.path}`), ['9:46 SY_CFG_SCHEMA routes[0].rules[1].filter_overrides.tag.config.nonsense'])
})

test('stream_recovery continue falling back to a cluster that cannot prefill is a warning at that cluster', () => {
  const { tables, clusters, ctx } = resolved(`routes:
  - name: main
    rules:
      - fallback: { clusters: [{ cluster: a }, { cluster: b }] }
        stream_recovery: continue
`)
  const warnings = continuationWarnings(tables, clusters, ctx.positions)
  assert.equal(warnings.length, 1)
  assert.match(warnings[0], /^r\.yaml:4:59: routes\.main\.rules\[0\]: stream_recovery continue falls back to cluster 'b', which cannot prefill/)
})
