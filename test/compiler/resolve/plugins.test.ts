/**
 * resolve/plugins.ts: where a plugin filter's module is found, the content-hashed URL it becomes,
 * and the compiler's side of the module lookup (CompileOptions.plugins), with a lookup of the
 * test's own (the gateway's imports modules: control/compile-plugins.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { compileConfig, formatDiagnostic, type PluginModuleLookup } from '../../../src/compiler/index.js'
import { pluginDir } from '../../support/plugin-modules.js'

const dir = pluginDir()
mkdirSync(join(dir, 'plugins'))
writeFileSync(join(dir, 'plugins', 'tag.mjs'), 'export function create() { return {} }\n')
mkdirSync(join(dir, 'node_modules', '@acme', 'guard'), { recursive: true })
writeFileSync(join(dir, 'node_modules', '@acme', 'guard', 'package.json'), JSON.stringify({ name: '@acme/guard', main: 'lib/index.js' }))
mkdirSync(join(dir, 'node_modules', '@acme', 'guard', 'lib'))
writeFileSync(join(dir, 'node_modules', '@acme', 'guard', 'lib', 'index.js'), 'exports.create = () => ({})\n')

const config = (module: string, options = '{}') => `
listeners: [{ name: l, port: 18080, route_table: main, filters: [p] }]
routes: [{ name: main, rules: [{ cluster: a }] }]
clusters: [{ name: a, provider: mock }]
filters:
  - name: p
    type: plugin
    config: { module: ${module}, options: ${options} }
`
const compile = (module: string, plugins?: PluginModuleLookup, options?: string) =>
  compileConfig([{ name: 'gw.yaml', text: config(module, options), baseDir: dir }], { source: 'file:gw.yaml', ...(plugins && { plugins }) })
const known = (schema?: object): PluginModuleLookup => () => ({ ok: true, schema })

test('a relative module resolves against the config file\'s directory, named by its content hash', () => {
  const r = compile('./plugins/tag.mjs', known())
  assert.ok(r.ok, r.diagnostics.map(formatDiagnostic).join('\n'))
  const f = r.ir.filters[0]
  assert.match(String(f.config.module), new RegExp(`^${pathToFileURL(join(dir, 'plugins', 'tag.mjs')).href.replace(/[.?]/g, '\\$&')}\\?v=[0-9a-f]{16}$`))
  assert.deepStrictEqual({ ...f.config, module: undefined }, { module: undefined, options: {}, name: 'p' })
})

test('an edit to the module is a new URL and a new config version; the same content is the same', () => {
  const before = compile('./plugins/tag.mjs', known())
  writeFileSync(join(dir, 'plugins', 'tag.mjs'), 'export function create() { return { onRequest() {} } }\n')
  const after = compile('./plugins/tag.mjs', known())
  const again = compile('./plugins/tag.mjs', known())
  assert.ok(before.ok && after.ok && again.ok)
  assert.notEqual(before.ir.filters[0].config.module, after.ir.filters[0].config.module)
  assert.notEqual(before.ir.version, after.ir.version)
  assert.equal(after.ir.version, again.ir.version)
})

test('a package name resolves from the config file\'s directory (node_modules)', () => {
  const r = compile('"@acme/guard"', known())
  assert.ok(r.ok, r.diagnostics.map(formatDiagnostic).join('\n'))
  assert.ok(String(r.ir.filters[0].config.module).startsWith(pathToFileURL(join(dir, 'node_modules', '@acme', 'guard', 'lib', 'index.js')).href + '?v='))
  const missing = compile('"@acme/nothing"', known())
  assert.deepStrictEqual(missing.diagnostics.map(formatDiagnostic), [`gw.yaml:8:23: filters[0].config.module: plugin 'p': package '@acme/nothing' cannot be resolved from ${dir}: MODULE_NOT_FOUND`])
})

test('a module the lookup does not know yet is listed to load, and the compile does not pass', () => {
  const r = compile('./plugins/tag.mjs', () => undefined)
  assert.equal(r.ok, false)
  assert.ok(!r.ok && r.pluginsToLoad?.length === 1 && r.pluginsToLoad[0].includes('/plugins/tag.mjs?v='))
  assert.deepStrictEqual(r.diagnostics.map((d) => d.message), ["plugin 'p': module not loaded yet"])
})

test('options are checked against the module\'s schema, defaults filled in', () => {
  const schema = { type: 'object', properties: { level: { enum: ['low', 'high'], default: 'low' }, n: { type: 'integer' } }, additionalProperties: false }
  const ok = compile('./plugins/tag.mjs', known(schema), '{ n: 3 }')
  assert.ok(ok.ok)
  assert.deepStrictEqual(ok.ir.filters[0].config.options, { n: 3, level: 'low' })
  const bad = compile('./plugins/tag.mjs', known(schema), '{ n: 1.5, level: loud }')
  assert.deepStrictEqual(bad.diagnostics.map(formatDiagnostic), [
    'gw.yaml:8:56: filters[0].config.options.n: must be integer',
    'gw.yaml:8:68: filters[0].config.options.level: must be one of: "low", "high" (got "loud")',
  ])
})

test('a schema that does not compile is the module\'s error, at its module', () => {
  // Its own file: validators are kept per module URL (one URL, one module, one schema).
  writeFileSync(join(dir, 'plugins', 'odd.mjs'), 'export function create() { return {} }\n')
  const r = compile('./plugins/odd.mjs', () => ({ ok: true, schema: { type: 'no-such-type' } }))
  assert.equal(r.diagnostics.length, 1)
  assert.match(formatDiagnostic(r.diagnostics[0]), /^gw\.yaml:8:23: filters\[0\]\.config\.module: plugin 'p': its options schema does not compile: /)
})

test('without a lookup (a check-only compile) options are not checked and nothing is loaded', () => {
  const r = compile('./plugins/tag.mjs', undefined, '{ anything: 1 }')
  assert.ok(r.ok)
})
