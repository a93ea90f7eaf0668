/**
 * `type: wasm` filters as the compiler sees them: a module is read relative to the config file,
 * checked and instrumented; every problem is a SY_CFG_WASM diagnostic at `config.module`, and a
 * plugin that rejects its configuration is a SY_CFG_FILTER at the filter's config.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compileConfig, formatDiagnostic } from '../../../src/compiler/index.js'
import { dryBuild } from '../../../src/runtime/build/dry-build.js'
import type { WasmFilterIR } from '../../../src/compiler/ir.js'
import { buildPlugin, PLUGINS, writePlugins } from '../../support/wasm-plugins.js'

const dir = mkdtempSync(join(tmpdir(), 'switchyard-wasm-compile-'))

function config(filter: string, overrides = ''): string {
  return `listeners:
  - { name: api, port: 8080, route_table: main, filters: [w] }
routes:
  - name: main
    rules:
      - name: r
        cluster: a${overrides}
clusters:
  - { name: a, provider: mock }
filters:
${filter}
`
}

const compile = (text: string) => compileConfig([{ name: join(dir, 'switchyard.yaml'), text, baseDir: dir }], { source: 'test', dryBuild })
const messages = (r: ReturnType<typeof compile>) => r.diagnostics.map(formatDiagnostic)

test('a module path is resolved against the config file; the IR carries the instrumented bytes', async () => {
  await writePlugins(join(dir, 'plugins'), ['headers'])
  const r = compile(config('  - { name: w, type: wasm, config: { module: ./plugins/headers.wasm, configuration: { a: 1 }, fuel: 5000 } }'))
  assert.ok(r.ok, messages(r).join('\n'))
  const ir = r.ir.filters[0].config as unknown as WasmFilterIR
  assert.equal(ir.module, join(dir, 'plugins/headers.wasm'))
  assert.equal(ir.configuration, '{"a":1}')
  assert.equal(ir.fuel, 5000)
  assert.equal(ir.memoryMaxBytes, 16 * 1024 * 1024, 'memory_limit defaults to 16mb')
  assert.ok(ir.callbacks.includes('proxy_on_request_headers'))
  assert.match(ir.sha256, /^[0-9a-f]{64}$/)
  assert.deepEqual(r.files, [join(dir, 'plugins/headers.wasm')], 'the module is named for watching')
})

test('unknown imports, a missing file, a non-module: SY_CFG_WASM at file:line:col of config.module', async () => {
  writeFileSync(join(dir, 'unknown.wasm'), await buildPlugin('unknownImport', PLUGINS.unknownImport))
  writeFileSync(join(dir, 'text.wasm'), 'hello')
  const r = compile(config(`  - { name: w, type: wasm, config: { module: ./unknown.wasm } }
  - { name: m, type: wasm, config: { module: ./missing.wasm } }
  - { name: t, type: wasm, config: { module: ./text.wasm } }`))
  assert.ok(!r.ok)
  const file = join(dir, 'switchyard.yaml')
  assert.deepEqual(messages(r), [
    `${file}:11:46: filters[0].config.module: filter 'w': module './unknown.wasm': imports outside the supported proxy-wasm subset: env.proxy_open_the_pod_bay_doors (the host provides env.proxy_* of ABI v0.2.1 and wasi_snapshot_preview1's fd_write, clock_time_get, random_get, environ_*, args_*, proc_exit, sched_yield; see docs/plugins.md)`,
    `${file}:12:46: filters[1].config.module: filter 'm': module './missing.wasm': no such file (${join(dir, 'missing.wasm')})`,
    `${file}:13:46: filters[2].config.module: filter 't': module './text.wasm': not a valid WebAssembly module: expected magic word 00 61 73 6d, found 68 65 6c 6c @+0`,
  ])
  assert.equal(r.diagnostics[0].code, 'SY_CFG_WASM')
  assert.deepEqual(r.files, [join(dir, 'unknown.wasm'), join(dir, 'missing.wasm'), join(dir, 'text.wasm')], 'a failed compile still names the modules to watch')
})

test('a plugin that rejects its configuration, and an override that gives it a config, are located', async () => {
  await writePlugins(dir, ['picky'])
  const ok = compile(config('  - { name: w, type: wasm, config: { module: ./picky.wasm, configuration: ok } }'))
  assert.ok(ok.ok, messages(ok).join('\n'))
  const refused = compile(config('  - { name: w, type: wasm, config: { module: ./picky.wasm, configuration: nope } }'))
  assert.deepEqual(messages(refused), [`${join(dir, 'switchyard.yaml')}:11:36: filters[0].config: filter 'w': proxy_on_configure returned false (the plugin rejected its configuration)`])
  const override = compile(config('  - { name: w, type: wasm, config: { module: ./picky.wasm, configuration: ok } }', '\n        filter_overrides: { w: { config: { module: ./picky.wasm } } }'))
  assert.equal(override.ok, false)
  assert.match(messages(override)[0], /filter_overrides\.w\.config: filter 'w' \(override on rule 'r'\): a WASM filter's config cannot be replaced in filter_overrides/)
})

test('the schema: module required, a .wasm path, fuel and memory_limit typed', () => {
  const r = compile(config('  - { name: w, type: wasm, config: { module: ./x.so, fuel: 10, memory_limit: 16 } }'))
  assert.equal(r.ok, false)
  assert.ok(r.diagnostics.every((d) => d.code === 'SY_CFG_SCHEMA'))
  assert.equal(r.diagnostics.length, 3, messages(r).join('\n'))
})
