/**
 * Every config under examples/ must compile; `${env:NAME}` references get placeholder values and
 * `${file:path}` references a temporary file holding one.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { compileConfig, formatDiagnostic, readPathSources } from '../../src/compiler/index.js'
import { withPlaceholderSecrets } from '../support/docs/placeholder-secrets.js'
import { repoRoot } from '../support/repo-root.js'

const examplesDir = join(repoRoot, 'examples')
const examples = readdirSync(examplesDir)
  .sort()
  // A Grafana dashboard (*-dashboard.json) sits beside the configs but is not one; plugins/ holds
  // the modules examples/plugins.yaml loads.
  .filter((name) => !name.startsWith('.') && !name.endsWith('-dashboard.json') && name !== 'plugins' && (statSync(join(examplesDir, name)).isDirectory() || /\.(ya?ml|json)$/i.test(name)))

test('examples/ holds at least one config', () => {
  assert.ok(examples.length > 0)
})

for (const name of examples) {
  test(`examples/${name} compiles without diagnostics`, (t) => {
    const env: Record<string, string> = {}
    const sources = readPathSources(join(examplesDir, name)).map((s) => {
      const p = withPlaceholderSecrets(s.text)
      t.after(p.dispose)
      Object.assign(env, p.env)
      return { ...s, text: p.text }
    })
    const r = compileConfig(sources, { source: `file:examples/${name}`, env })
    assert.deepStrictEqual(r.diagnostics.map(formatDiagnostic), [])
    assert.equal(r.ok, true)
  })
}
