/**
 * Filter configs are checked by their factories in the dry build: each factory runs once per
 * compile (not once to check and again to build), and what it rejects is reported at the
 * `file:line:col` of the config it rejected, found through the resolver's IR path → source map.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig, formatDiagnostic } from '../../src/compiler/index.js'
import { dryBuild } from '../../src/runtime/build/dry-build.js'
import { filterFactories } from '../../src/runtime/filters/index.js'
import type { FilterFactory } from '../../src/runtime/types.js'

/** Counts calls of the `headers` factory (by the config it was given) for the rest of the test. */
function countHeadersFactory(t: TestContext): unknown[] {
  const registry = filterFactories as Record<string, FilterFactory>
  const original = registry.headers
  const configs: unknown[] = []
  registry.headers = (config, deps) => {
    configs.push(config)
    return original(config, deps)
  }
  t.after(() => {
    registry.headers = original
  })
  return configs
}

const ROUTES = `admin: { port: 0 }
listeners:
  - { name: public, port: 8080, route_table: main, filters: [tag-a, tag-b] }
  - { name: internal, port: 8081, route_table: main, filters: [tag-a] }
routes:
  - name: main
    rules:
      - name: chat
        match: { path: { prefix: /v1/chat } }
        cluster: a
        filter_overrides:
          tag-a:
            config: { response: { set: [{ name: x-team, value: chat }] } }
      - cluster: a
clusters:
  - { name: a, provider: mock }
`
const FILTERS = (a: string, b: string) => `filters:
  - name: tag-a
    type: headers
    config:
      response: { set: [{ name: x-team, value: "${a}" }] }
  - name: tag-b
    type: headers
    config:
      request: { add: [{ name: x-b, value: "${b}" }] }
`

test('each filter factory runs once per compile: once per configured filter, once per override config', (t) => {
  const configs = countHeadersFactory(t)
  const r = compileConfig([{ name: 'routes.yaml', text: ROUTES }, { name: 'filters.yaml', text: FILTERS('search', 'b') }], { source: 'test', env: {}, dryBuild })
  assert.deepStrictEqual(r.diagnostics, [])
  assert.deepStrictEqual(configs, [
    { response: { set: [{ name: 'x-team', value: 'search' }] } },
    { request: { add: [{ name: 'x-b', value: 'b' }] } },
    { response: { set: [{ name: 'x-team', value: 'chat' }] } },
  ])
})

test('a rejected filter config is reported at its file:line:col, the override one too, all at once', (t) => {
  const configs = countHeadersFactory(t)
  const routes = ROUTES.replace('value: chat', 'value: "c\\nd"')
  const r = compileConfig([{ name: 'routes.yaml', text: routes }, { name: 'filters.yaml', text: FILTERS('a\\nb', 'fine') }], { source: 'test', env: {}, dryBuild })
  assert.deepStrictEqual(r.diagnostics.map(formatDiagnostic), [
    "filters.yaml:5:7: filters[0].config: filter 'tag-a': header 'x-team': value must not contain CR, LF or NUL",
    "routes.yaml:13:21: routes[0].rules[0].filter_overrides.tag-a.config: filter 'tag-a' (override on rule 'chat'): header 'x-team': value must not contain CR, LF or NUL",
  ])
  assert.equal(configs.length, 3, 'with a rejected config nothing else is built')
})

test('without a dry build no factory runs', (t) => {
  const configs = countHeadersFactory(t)
  const r = compileConfig([{ name: 'routes.yaml', text: ROUTES }, { name: 'filters.yaml', text: FILTERS('a\\nb', 'b') }], { source: 'test', env: {} })
  assert.equal(r.ok, true)
  assert.deepStrictEqual(configs, [])
})
