/**
 * The hosted proxy-wasm subset is written down once (src/shared/proxy-wasm-abi.ts): the host
 * implements every name in it, and docs/plugins.md's tables list every function and property with
 * the status the code gives it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { HOST_FUNCTIONS, isHostedImport, UNIMPLEMENTED_FUNCTIONS, WASI_FUNCTIONS, WASI_MODULE } from '../../src/shared/proxy-wasm-abi.js'
import { createImports } from '../../src/runtime/plugins/wasm/host.js'
import { PROPERTY_NAMES } from '../../src/runtime/plugins/wasm/properties.js'
import { repoRoot } from '../support/repo-root.js'

const doc = readFileSync(join(repoRoot, 'docs', 'plugins.md'), 'utf8')
const rows = new Map([...doc.matchAll(/^\| `([^`]+)`(?:, `[^`]+`)* \| ([^|]+) \|/gm)].map((m) => [m[1], m[2].trim()]))

test('the host provides exactly the declared imports', () => {
  const fake = { memory: new WebAssembly.Memory({ initial: 1 }), settings: { plugin: 'p', configuration: new Uint8Array() }, phase: 'start' as const, state: undefined, allocate: () => 0 }
  const imports = createImports(fake) as Record<string, Record<string, unknown>>
  assert.deepEqual(Object.keys(imports.env).sort(), [...HOST_FUNCTIONS, ...UNIMPLEMENTED_FUNCTIONS].sort())
  assert.deepEqual(Object.keys(imports[WASI_MODULE]).sort(), [...WASI_FUNCTIONS].sort())
  assert.equal(isHostedImport('env', 'proxy_log'), true)
  assert.equal(isHostedImport('env', 'proxy_nonexistent'), false)
  assert.equal(isHostedImport('other', 'proxy_log'), false)
})

test('docs/plugins.md lists every host function with its status', () => {
  for (const f of HOST_FUNCTIONS) assert.equal(rows.get(f), 'supported', f)
  for (const f of UNIMPLEMENTED_FUNCTIONS) assert.equal(rows.get(f), '`UNIMPLEMENTED`', f)
  for (const f of WASI_FUNCTIONS) assert.equal(rows.get(`${WASI_MODULE}.${f}`), 'supported', f)
})

test('docs/plugins.md lists every property', () => {
  const listed = new Set([...doc.matchAll(/^\| (`[^|]+`) \|/gm)].flatMap((m) => [...m[1].matchAll(/`([^`]+)`/g)].map((x) => x[1])))
  for (const p of PROPERTY_NAMES) assert.ok(listed.has(p), p)
})
