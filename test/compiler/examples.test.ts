/** Every config under examples/ must compile; `${env:NAME}` references get placeholder values. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { compileConfig, formatDiagnostic, readPathSources } from '../../src/compiler/index.js'
import { repoRoot } from './repo-root.js'

const examplesDir = join(repoRoot, 'examples')
const examples = readdirSync(examplesDir)
  .sort()
  .filter((name) => !name.startsWith('.') && (statSync(join(examplesDir, name)).isDirectory() || /\.(ya?ml|json)$/i.test(name)))

test('examples/ holds at least one config', () => {
  assert.ok(examples.length > 0)
})

for (const name of examples) {
  test(`examples/${name} compiles without diagnostics`, () => {
    const sources = readPathSources(join(examplesDir, name))
    const env: Record<string, string> = {}
    for (const s of sources) for (const m of s.text.matchAll(/\$\{env:([^}]+)\}/g)) env[m[1]] = `placeholder-${m[1]}`
    const r = compileConfig(sources, { source: `file:examples/${name}`, env })
    assert.deepStrictEqual(r.diagnostics.map(formatDiagnostic), [])
    assert.equal(r.ok, true)
  })
}
