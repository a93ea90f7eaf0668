/**
 * The checked-in example modules come from their WAT sources (scripts/build-wasm-examples.js), and
 * the example config passes the full compile (module checked, instrumented, started, configured).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { compileConfig, formatDiagnostic, readPathSources } from '../../../src/compiler/index.js'
import { dryBuild } from '../../../src/runtime/build/dry-build.js'
import { repoRoot } from '../../support/repo-root.js'
import { buildPlugin } from '../../support/wasm-plugins.js'

const dir = join(repoRoot, 'examples', 'wasm-plugin')

test('examples/wasm-plugin/guard.wasm is what guard.wat builds to', async () => {
  const built = await buildPlugin('guard', readFileSync(join(dir, 'guard.wat'), 'utf8'))
  assert.ok(Buffer.from(built).equals(readFileSync(join(dir, 'guard.wasm'))), 'run `node scripts/build-wasm-examples.js` after changing guard.wat')
})

test('examples/wasm-plugin compiles with the dry build (the plugin starts and takes its configuration)', () => {
  const r = compileConfig(readPathSources(dir), { source: 'file:examples/wasm-plugin', dryBuild })
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [])
  assert.deepEqual(r.files, [join(dir, 'guard.wasm')])
})
