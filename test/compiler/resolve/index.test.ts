import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveDocs } from '../../../src/compiler/resolve/index.js'
import type { Diagnostic } from '../../../src/compiler/diagnostics.js'
import { validatedDocs } from '../../support/resolve-docs.js'

const CONFIG = `admin: { port: 0 }
listeners: [{ name: l, port: 8080, route_table: t, filters: [f] }]
routes:
  - name: t
    rules:
      - cluster: a
        filter_overrides: { f: { config: { request: { remove: [x-a] } } } }
clusters: [{ name: a, provider: mock }]
filters: [{ name: f, type: headers }]
`

test('every part of the IR is recorded with where it was written', () => {
  const diags: Diagnostic[] = []
  const { positions, body } = resolveDocs(validatedDocs({ 'c.yaml': CONFIG }), diags, { env: {}, secrets: 'resolve' })
  assert.deepStrictEqual(diags, [])
  assert.deepStrictEqual(positions.paths(), [
    'admin', 'filters[0]', 'filters[0].config', 'clusters[0]', 'clusters[0].endpoints[0]',
    'routeTables[0]', 'routeTables[0].rules[0]', 'routeTables[0].rules[0].filterOverrides.f.config', 'listeners[0]',
  ])
  assert.equal(positions.where(['routeTables', 0, 'rules', 0, 'filterOverrides', 'f', 'config']), 'c.yaml:7:42')
  assert.deepStrictEqual(body.filters, [{ name: 'f', type: 'headers', config: {} }])
})

test('reference look-alikes are reported after the other problems, so one position keeps its order', () => {
  const text = 'clusters:\n  - { name: a, provider: openai, endpoints: [{ url: "http://h/v1", api_key: "${env:UNSET}${BASE}" }] }\n'
  const diags: Diagnostic[] = []
  resolveDocs(validatedDocs({ 'c.yaml': text }), diags, { env: {}, secrets: 'resolve' })
  assert.deepStrictEqual(diags.map((d) => `${d.line}:${d.col} ${d.code}`), ['2:77 SY_CFG_SECRET', '2:77 SY_CFG_SECRET_SYNTAX'])
})

test('needs lists every reference in order of appearance; resolved values land in the secrets to scrub', () => {
  const text = 'clusters:\n  - { name: a, provider: openai, endpoints: [{ url: "http://h/v1", api_key: "${env:K}" }, { url: "http://h2/v1", api_key: "${env:K}" }] }\n'
  const diags: Diagnostic[] = []
  const { needs, body } = resolveDocs(validatedDocs({ 'c.yaml': text }), diags, { env: { K: 'sk-9' }, secrets: 'resolve' })
  assert.deepStrictEqual(needs, [{ kind: 'env', name: 'K' }, { kind: 'env', name: 'K' }])
  assert.deepStrictEqual(body.secrets, ['sk-9'])
})
