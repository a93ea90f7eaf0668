/**
 * Issue 13, "Docs that cannot rot": the "Circuit breaker (per endpoint)" example in
 * docs/resilience.md used `circuit_breaker:`, which `validate` rejects. Every YAML block of the
 * docs is now compiled (test/docs/yaml-blocks.test.ts); these pin the example and show that the
 * check reports such a block by doc, line and diagnostic.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkBlock, docBlocks, type DocBlock } from '../support/docs/doc-blocks.js'

function blockUnder(heading: string): DocBlock {
  const b = docBlocks().find((x) => x.doc === 'docs/resilience.md' && x.info[0] === 'yaml' && x.heading === heading)
  assert.ok(b, `no yaml block under '${heading}' in docs/resilience.md`)
  return b
}

test('the circuit breaker example in docs/resilience.md compiles, with endpoint_circuit_breaker', () => {
  const b = blockUnder('Circuit breaker (per endpoint)')
  assert.deepStrictEqual(checkBlock(b), [])
  assert.match(b.text, /^\s+endpoint_circuit_breaker: \{ consecutive_failures: 5/m)
})

test('the old example is reported at its doc and line, with what validate says', () => {
  const old: DocBlock = {
    doc: 'docs/resilience.md', line: 75, info: ['yaml'], heading: 'Circuit breaker (per endpoint)',
    text: 'clusters:\n  - name: vllm\n    circuit_breaker: { consecutive_failures: 5, failure_ratio: 0.5, window: 30s, min_requests: 20,\n                       open_duration: 10s, max_open_duration: 5m, half_open_probes: 1 }\n',
  }
  const problems = checkBlock(old)
  assert.equal(problems.length, 2, problems.join('\n'))
  assert.equal(problems[0], "docs/resilience.md:77: clusters[0]: missing required property 'provider'")
  assert.match(problems[1], /^docs\/resilience\.md:78: clusters\[0\]\.circuit_breaker: unknown property 'circuit_breaker', did you mean 'endpoint_circuit_breaker'\?/)
})

test('a fragment is checked inside a config, not only parsed', () => {
  const fragment: DocBlock = { doc: 'docs/x.md', line: 10, info: ['yaml', 'fragment', 'in=clusters[0]'], heading: '', text: '    outlier_detection: { consecutive_5xx: -1, base_ejection_time: 30 }\n' }
  assert.deepStrictEqual(checkBlock(fragment), [
    'docs/x.md:10: clusters[0].outlier_detection.consecutive_5xx: must be >= 0',
    'docs/x.md:10: clusters[0].outlier_detection.base_ejection_time: must be a duration such as 30s or 250ms (got 30; units: ms, s, m, h)',
  ])
})

test('a block shown as invalid must be rejected, with exactly the errors it names', () => {
  const valid: DocBlock = { doc: 'docs/x.md', line: 3, info: ['yaml', 'invalid'], heading: '', text: 'clusters: [{ name: a, provider: mock }]\n' }
  assert.deepStrictEqual(checkBlock(valid), ['docs/x.md:3: shown as ```yaml invalid, but it compiles'])
  const misnamed: DocBlock = { ...valid, text: 'clusters:\n  - name: a\n    provider: mock\n    timeout: 30   # error: clusters[0].timeout: must be string\n' }
  assert.deepStrictEqual(checkBlock(misnamed), [
    'not named in the block: docs/x.md:7: clusters[0].timeout: must be a duration such as 30s or 250ms (got 30; units: ms, s, m, h)',
    'named but not reported: docs/x.md:7: clusters[0].timeout: must be string',
  ])
})
