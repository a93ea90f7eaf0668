/**
 * Config errors as data: every test/fixtures/invalid/*.yaml (or directory of YAML files) carries
 * its expected diagnostics in its leading comments:
 *
 *   # expect: [file:]line:col CODE path     one line per diagnostic (file only for directory fixtures)
 *   # message: substring                    optional, applies to the expect line above it
 *
 * The test checks the exact set of (position, code, path), each message substring, and that no
 * resolved secret value leaks into any diagnostic.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { compileConfig, formatDiagnostic, readPathSources } from '../../src/compiler/index.js'
import { dryBuild } from '../../src/runtime/build/dry-build.js'
import { compileWithPlugins } from '../../src/control/compile-plugins.js'
import type { Diagnostic } from '../../src/compiler/diagnostics.js'
import { fixturesDir } from '../support/repo-root.js'

const invalidDir = join(fixturesDir, 'invalid')

const SECRET_FROM_FILE = readFileSync(join(invalidDir, 'secret.txt'), 'utf8').trim()
const env = {
  SY_TEST_SECRET: 'sk-SECRET-env-8f3a91c2',
  SY_TEST_SECRET_2: 'sk-SECRET-env2-77c0d41e',
  SY_TEST_EMPTY: '',
}
const secrets = [env.SY_TEST_SECRET, env.SY_TEST_SECRET_2, SECRET_FROM_FILE]

interface Expectation {
  readonly key: string
  readonly messages: string[]
}

function parseExpectations(text: string): Expectation[] {
  const out: { key: string; messages: string[] }[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break
    const expect = /^# expect:\s*(.+?)\s*$/.exec(line)
    if (expect) {
      out.push({ key: expect[1], messages: [] })
      continue
    }
    const message = /^# message:\s*(.+?)\s*$/.exec(line)
    if (message) {
      assert.ok(out.length > 0, `'# message:' before any '# expect:' line`)
      out[out.length - 1].messages.push(message[1])
    }
  }
  return out
}

interface Fixture { name: string; path: string; header: string; isDir: boolean }

function fixtures(): Fixture[] {
  return readdirSync(invalidDir)
    .sort()
    .flatMap((name): Fixture[] => {
      const path = join(invalidDir, name)
      if (statSync(path).isDirectory()) {
        const first = readdirSync(path).filter((f) => /\.ya?ml$/.test(f)).sort()[0]
        return [{ name, path, header: readFileSync(join(path, first), 'utf8'), isDir: true }]
      }
      if (!/\.ya?ml$/.test(name)) return []
      return [{ name, path, header: readFileSync(path, 'utf8'), isDir: false }]
    })
}

function keyOf(d: Diagnostic, fixture: { path: string; isDir: boolean }): string {
  const file = fixture.isDir ? `${relative(fixture.path, d.source)}:` : ''
  return `${file}${d.line}:${d.col} ${d.code} ${d.path}`.trim()
}

test('every invalid fixture declares at least one expected diagnostic', () => {
  const missing = fixtures().filter((f) => parseExpectations(f.header).length === 0).map((f) => f.name)
  assert.deepStrictEqual(missing, [])
})

for (const fixture of fixtures()) {
  // As the gateway compiles: plugin filters' modules imported and their options checked.
  test(`${fixture.name} is rejected with exactly the diagnostics it declares`, async () => {
    const result = await compileWithPlugins(readPathSources(fixture.path), { source: `file:${fixture.path}`, env, dryBuild })
    assert.equal(result.ok, false)
    const expected = parseExpectations(fixture.header)
    const actual = result.diagnostics.map((d) => keyOf(d, fixture)).sort()
    assert.deepStrictEqual(actual, expected.map((e) => e.key).sort())
    for (const e of expected) {
      const d = result.diagnostics.find((x) => keyOf(x, fixture) === e.key)!
      for (const m of e.messages) assert.ok(d.message.includes(m), `message of ${e.key}\n  actual:   ${d.message}\n  expected to contain: ${m}`)
    }
  })

  test(`${fixture.name}: no diagnostic reveals a secret value`, async () => {
    const result = await compileWithPlugins(readPathSources(fixture.path), { source: `file:${fixture.path}`, env, dryBuild })
    const leaks = result.diagnostics.map((d) => formatDiagnostic(d)).filter((line) => secrets.some((s) => line.includes(s)))
    assert.deepStrictEqual(leaks, [])
  })
}

test('a single-file fixture reports diagnostics against the path it was read from', () => {
  const path = join(invalidDir, 'bad-regex.yaml')
  const result = compileConfig(readPathSources(path), { source: `file:${path}`, env, dryBuild })
  assert.deepStrictEqual([...new Set(result.diagnostics.map((d) => d.source))], [path])
})

test('diagnostics are sorted by line and column', () => {
  const path = join(invalidDir, 'unknown-references.yaml')
  const result = compileConfig(readPathSources(path), { source: `file:${path}`, env, dryBuild })
  const positions = result.diagnostics.map((d) => [d.line, d.col])
  const sorted = [...positions].sort((a, b) => a[0] - b[0] || a[1] - b[1])
  assert.deepStrictEqual(positions, sorted)
})

test('a formatted diagnostic reads source:line:col: path: message', () => {
  const path = join(invalidDir, 'port-clash-default-admin.yaml')
  const result = compileConfig(readPathSources(path), { source: `file:${path}`, env, dryBuild })
  assert.deepStrictEqual(result.diagnostics.map(formatDiagnostic), [
    `${path}:6:11: listeners[0].port: port 9901 is the admin API's default port; set admin.port`,
  ])
})
