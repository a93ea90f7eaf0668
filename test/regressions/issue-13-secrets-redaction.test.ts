/**
 * Issue 13, secrets: literal credentials under keys that are not secret-typed — a headers filter
 * setting `authorization`, `x-api-key` or `cookie`, a health check's headers, a route matching on a
 * credential header — are masked in the effective config /config shows, like references are kept
 * as written. (Done by the issue 10 work in src/compiler/credentials.ts; this pins it down.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig } from '../../src/compiler/index.js'

const LITERALS = ['sk-filter-literal-1', 'x-api-literal-2', 'cookie-literal-3', 'health-literal-4', 'match-literal-5', 'sk-endpoint-literal-6']

const CONFIG = `
listeners: [{ name: l, port: 18413, route_table: t, filters: [creds] }]
routes:
  - name: t
    rules:
      - match: { headers: [{ name: x-api-key, exact: ${LITERALS[4]} }] }
        cluster: c
clusters:
  - name: c
    provider: openai
    endpoints:
      - { url: "http://127.0.0.1:9/v1", api_key: ${LITERALS[5]} }
      - { url: "http://127.0.0.1:10/v1", api_key: "\${env:SY13_KEY}" }
    health_check: { path: /health, headers: { authorization: "Bearer ${LITERALS[3]}", x-probe: visible-probe } }
filters:
  - name: creds
    type: headers
    config:
      request:
        set:
          - { name: Authorization, value: "Bearer ${LITERALS[0]}" }
          - { name: x-api-key, value: ${LITERALS[1]} }
          - { name: x-upstream-key, value: "\${env:SY13_KEY}" }
          - { name: x-team, value: search }
        add:
          - { name: cookie, value: "sid=${LITERALS[2]}" }
`

for (const secrets of ['resolve', 'collect'] as const) {
  test(`literal credentials in non-secret-typed keys are masked in /config, references kept as written (${secrets})`, () => {
    const r = compileConfig([{ name: 'c.yaml', text: CONFIG }], { source: 'test', env: { SY13_KEY: 'sk-from-env-7' }, secrets })
    assert.ok(r.ok, JSON.stringify(!r.ok && r.diagnostics))
    const shown = JSON.stringify(r.ir.effective)
    for (const s of [...LITERALS, 'sk-from-env-7']) assert.ok(!shown.includes(s), `/config shows ${s}: ${shown}`)
    const e = r.ir.effective as any
    assert.deepStrictEqual(e.filters[0].config.request.set.map((h: any) => h.value), ['[redacted]', '[redacted]', '${env:SY13_KEY}', 'search'])
    assert.equal(e.filters[0].config.request.add[0].value, '[redacted]')
    assert.deepStrictEqual(e.clusters[0].health_check.headers, { authorization: '[redacted]', 'x-probe': 'visible-probe' })
    assert.equal(e.routes[0].rules[0].match.headers[0].exact, '[redacted]')
    assert.deepStrictEqual(e.clusters[0].endpoints.map((x: any) => x.api_key), ['[redacted]', '${env:SY13_KEY}'])
  })
}
