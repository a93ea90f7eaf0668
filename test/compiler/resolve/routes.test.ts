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

test('a rollout lowers its guards and step duration; defaults: 5m steps, min_requests 1', () => {
  const { tables, ctx } = resolved(`routes:
  - name: main
    rules:
      - name: chat
        weighted_clusters:
          clusters: [{ name: a, weight: 100 }, { name: b, weight: 0 }]
          rollout: { candidate: b, baseline: a, steps: [1, 50, 100], step_duration: 30s, guards: { max_error_rate: { over_baseline: 0.01 }, max_p95_latency_ratio: 1.5, max_p95_ttft_ratio: 2, min_requests: 50 } }
      - name: plain
        weighted_clusters:
          clusters: [{ name: a, weight: 1 }, { name: b, weight: 1 }]
          rollout: { candidate: b, baseline: a, steps: [100], guards: { max_error_rate: 0.05 } }
`)
  assert.deepStrictEqual(ctx.diags, [])
  const [chat, plain] = tables[0].rules.map((r) => (r.action.kind === 'weighted' ? r.action.rollout : undefined))
  assert.deepStrictEqual(chat, { candidate: 'b', baseline: 'a', steps: [1, 50, 100], stepMs: 30_000, guards: { maxErrorRate: { overBaseline: 0.01 }, maxP95LatencyRatio: 1.5, maxP95TtftRatio: 2, minRequests: 50 } })
  assert.deepStrictEqual(plain, { candidate: 'b', baseline: 'a', steps: [100], stepMs: 300_000, guards: { maxErrorRate: { absolute: 0.05 }, minRequests: 1 } })
})

test("a rollout's clusters must be two of its split's, with weight between them, and its steps must increase", () => {
  const { ctx } = resolved(`routes:
  - name: main
    rules:
      - weighted_clusters:
          clusters: [{ name: a, weight: 1 }]
          rollout: { candidate: b, baseline: a, steps: [5, 5] }
      - weighted_clusters:
          clusters: [{ name: a, weight: 0 }, { name: b, weight: 0 }]
          rollout: { candidate: a, baseline: a, steps: [5] }
      - weighted_clusters:
          clusters: [{ name: a, weight: 0 }, { name: b, weight: 0 }]
          rollout: { candidate: b, baseline: a, steps: [5] }
`)
  assert.deepStrictEqual(shown(ctx.diags).map((s) => s.replace(/^r\.yaml:\d+:\d+ /, '')), [
    "SY_CFG_ROLLOUT routes[0].rules[0].weighted_clusters.rollout.candidate: rollout candidate 'b' is not one of this split's clusters (a)",
    'SY_CFG_ROLLOUT routes[0].rules[0].weighted_clusters.rollout.steps: rollout steps must increase: 5, 5',
    'SY_CFG_ZERO_WEIGHT routes[0].rules[1].weighted_clusters.clusters: weighted cluster weights sum to 0',
    "SY_CFG_ROLLOUT routes[0].rules[1].weighted_clusters.rollout.baseline: rollout baseline and candidate are both 'a': give two clusters of the split",
    'SY_CFG_ZERO_WEIGHT routes[0].rules[2].weighted_clusters.clusters: weighted cluster weights sum to 0',
    "SY_CFG_ROLLOUT routes[0].rules[2].weighted_clusters.rollout.baseline: the weights of 'a' and 'b' sum to 0, so the rollout has no traffic to move: give the baseline the pair's weight (e.g. 100) and the candidate 0",
  ])
})

test('tracing.capture_content: in the IR only when on (max_content_bytes default 8kb); a warning without telemetry.tracing', async () => {
  const { compileConfig } = await import('../../../src/compiler/index.js')
  const yaml = (telemetry: string) => `${telemetry}
listeners: [{ name: api, port: 8080, route_table: main }]
routes:
  - name: main
    rules:
      - { name: on, match: { path: { exact: /a } }, cluster: m, tracing: { capture_content: true } }
      - { name: sized, match: { path: { exact: /b } }, cluster: m, tracing: { capture_content: true, max_content_bytes: 32kb } }
      - { name: off, match: { path: { exact: /c } }, cluster: m, tracing: { capture_content: false, max_content_bytes: 1kb } }
      - { name: plain, cluster: m }
clusters: [{ name: m, provider: mock }]
`
  const traced = compileConfig([{ name: 'r.yaml', text: yaml('telemetry: { tracing: { endpoint: "http://127.0.0.1:4318/v1/traces" } }') }], { source: 'test', env: {} })
  assert.ok(traced.ok)
  assert.deepStrictEqual(traced.ir.routeTables[0].rules.map((r) => r.contentCapture), [{ maxBytes: 8192 }, { maxBytes: 32768 }, undefined, undefined])
  assert.deepStrictEqual(traced.ir.warnings, [])
  const untraced = compileConfig([{ name: 'r.yaml', text: yaml('') }], { source: 'test', env: {} })
  assert.ok(untraced.ok)
  assert.deepStrictEqual(untraced.ir.warnings, [
    'r.yaml:6:93: routes.main.rules[0]: tracing.capture_content has no effect without telemetry.tracing (no spans are exported)',
    'r.yaml:7:96: routes.main.rules[1]: tracing.capture_content has no effect without telemetry.tracing (no spans are exported)',
  ])
})
