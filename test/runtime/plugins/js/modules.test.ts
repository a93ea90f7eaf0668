/**
 * The plugin module loader: what a module must export, how each failure is worded (the compiler
 * reports these at the filter's `module`), and the content hash that ties a URL to one version.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describePluginModule, loadPluginModules, pluginModule, pluginsReady, pluginUrlsOf } from '../../../../src/runtime/plugins/js/modules.js'
import { pluginDir, pluginUrl, writePlugin } from '../../../support/plugin-modules.js'

const dir = pluginDir()

async function facts(name: string, source: string) {
  const url = writePlugin(dir, name, source)
  await loadPluginModules([url])
  return describePluginModule(url)
}

test('a module with create() and a schema: the compiler gets the schema', async () => {
  const schema = { type: 'object', properties: { n: { type: 'number' } } }
  assert.deepStrictEqual(await facts('ok.mjs', `export const schema = ${JSON.stringify(schema)}; export function create() { return {} }`), { ok: true, schema })
})

test('a module without a schema is usable; its options go unchecked', async () => {
  assert.deepStrictEqual(await facts('no-schema.mjs', 'export function create() { return {} }'), { ok: true, schema: undefined })
})

test('a CommonJS module exporting create works too', async () => {
  assert.deepStrictEqual(await facts('cjs.cjs', 'module.exports = { create() { return {} } }'), { ok: true, schema: undefined })
})

test('each unusable module is refused with the reason', async () => {
  assert.deepStrictEqual(await facts('hooks.mjs', 'export function onRequest() {}'), { ok: false, message: 'module does not export a create(options, host) function' })
  assert.deepStrictEqual(await facts('throws.mjs', "throw new Error('no licence\\nsecond line')"), { ok: false, message: 'module threw while loading: no licence' })
  assert.deepStrictEqual(await facts('syntax.mjs', 'export function create( {'), { ok: false, message: 'module threw while loading: Unexpected end of input' })
  assert.deepStrictEqual(await facts('version.mjs', 'export const apiVersion = 2; export function create() { return {} }'), { ok: false, message: 'module targets plugin API version 2; this gateway offers version 1' })
  assert.deepStrictEqual(await facts('bad-schema.mjs', 'export const schema = "object"; export function create() { return {} }'), { ok: false, message: "module's `schema` export is not a JSON Schema object" })
})

test('a module importing a package that is not installed says which', async () => {
  const r = await facts('needs-dep.mjs', "import 'switchyard-no-such-package'; export function create() { return {} }")
  assert.equal(r?.ok, false)
  assert.match((r as { message: string }).message, /^module threw while loading: Cannot find package 'switchyard-no-such-package'/)
})

test('a missing file is refused as not found', async () => {
  const url = `${pathToFileURL(join(dir, 'nowhere.mjs')).href}?v=0000000000000000`
  await loadPluginModules([url])
  assert.deepStrictEqual(describePluginModule(url), { ok: false, message: `module not found: ${join(dir, 'nowhere.mjs')}` })
})

test('a URL whose file changed since is not imported under that version, and is tried again later', async () => {
  const url = writePlugin(dir, 'moving.mjs', 'export function create() { return { v: 1 } }')
  writeFileSync(join(dir, 'moving.mjs'), 'export function create() { return { v: 2 } }')
  await loadPluginModules([url])
  assert.deepStrictEqual(describePluginModule(url), { ok: false, message: 'the module file changed since this config was compiled (the reload that follows picks the new version up)' })
  // Back to the version the URL names: now it loads.
  writeFileSync(join(dir, 'moving.mjs'), 'export function create() { return { v: 1 } }')
  await loadPluginModules([url])
  assert.deepStrictEqual(describePluginModule(url), { ok: true, schema: undefined })
  const loaded = pluginModule(url)
  assert.ok(loaded?.ok && (loaded.module.create({}, undefined) as { v: number }).v === 1)
})

test('two versions of one file are two modules: an edit never changes the one already imported', async () => {
  const v1 = writePlugin(dir, 'versions.mjs', 'export function create() { return { v: 1 } }')
  await loadPluginModules([v1])
  const v2 = writePlugin(dir, 'versions.mjs', 'export function create() { return { v: 2 } }')
  assert.notEqual(v1, v2)
  await loadPluginModules([v2])
  const made = [v1, v2].map((u) => {
    const m = pluginModule(u)
    return m?.ok ? (m.module.create({}, undefined) as { v: number }).v : undefined
  })
  assert.deepStrictEqual(made, [1, 2])
})

test('pluginUrlsOf / pluginsReady read only plugin filters of an IR', async () => {
  const url = pluginUrl(join(dir, 'ok.mjs'))
  const pending = writePlugin(dir, 'pending.mjs', 'export function create() { return {} }')
  const ir = { filters: [{ name: 'h', type: 'headers', config: {} }, { name: 'p', type: 'plugin', config: { module: url, options: {}, name: 'p' } }] }
  assert.deepStrictEqual(pluginUrlsOf(ir), [url])
  assert.equal(pluginsReady(ir), true)
  assert.equal(pluginsReady({ filters: [{ name: 'q', type: 'plugin', config: { module: pending, options: {}, name: 'q' } }] }), false)
})
