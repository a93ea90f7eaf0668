/**
 * Issue 13: wrong-type errors said only "must be string" (`timeout: 30`), and one typo in
 * `retry_on` gave three errors (not in the enum, not an integer, no anyOf branch matched). The
 * fixtures test/fixtures/invalid/schema-duration-type.yaml and schema-retry-on-typo.yaml pin the
 * exact lines; these state the behaviour.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig, formatDiagnostic } from '../../src/compiler/index.js'

function diagnostics(text: string): string[] {
  return compileConfig([{ name: 'c.yaml', text }], { source: 'test', env: {} }).diagnostics.map(formatDiagnostic)
}

const rule = (extra: string) => `listeners: [{ name: l, port: 8080, route_table: t }]
routes:
  - name: t
    rules:
      - cluster: c
        ${extra}
clusters: [{ name: c, provider: mock }]
`

test('timeout: 30 says a duration such as 30s is expected', () => {
  assert.deepStrictEqual(diagnostics(rule('timeout: 30')), ['c.yaml:6:18: routes[0].rules[0].timeout: must be a duration such as 30s or 250ms (got 30; units: ms, s, m, h)'])
})

test('a size without a unit says a size such as 1mb is expected', () => {
  assert.deepStrictEqual(diagnostics('listeners: [{ name: l, port: 8080, route_table: t, max_body: 1000 }]\n'), [
    'c.yaml:1:62: listeners[0].max_body: must be a size such as 1mb or 512kb (got 1000; units: b, kb, mb, gb)',
  ])
})

test('one typo in retry_on is one diagnostic naming the item and listing the allowed values', () => {
  const d = diagnostics(rule('retry_policy: { retry_on: [5xx, conect-failure] }'))
  assert.equal(d.length, 1, d.join('\n'))
  assert.equal(
    d[0],
    'c.yaml:6:41: routes[0].rules[0].retry_policy.retry_on[1]: must be one of: "connect_failure", "reset", "timeout", "5xx", "429", "context_length" or an HTTP status code from 400 to 599 (got "conect-failure"; did you mean "connect_failure"?)',
  )
})

test('a status code out of range in retry_on is one diagnostic too', () => {
  assert.deepStrictEqual(diagnostics(rule('retry_policy: { retry_on: [700] }')).length, 1)
})
