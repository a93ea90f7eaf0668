/**
 * The compile thread: compiles in a thread of its own, hands back the result (and what a compile
 * throws, with its code), sees the caller's environment as it is at each compile, and ends when
 * closed or idle.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CompileThread, compileThreadIdleMs, DEFAULT_IDLE_MS } from '../../src/control/compile-thread.js'
import { filterProblemDiagnostics } from '../../src/compiler/filter-sites.js'
import { eventually } from '../support/gateway-process.js'

const CONFIG = (cluster: string) => `
listeners: [{ name: api, port: 8080, route_table: main, filters: [tag] }]
routes: [{ name: main, rules: [{ cluster: ${cluster} }] }]
clusters: [{ name: ${cluster}, provider: openai, endpoints: [{ url: "http://127.0.0.1:9", api_key: "\${env:SY_COMPILE_THREAD_KEY}" }] }]
filters:
  - name: tag
    type: headers
    config: { request: { set: [{ name: x-a, value: b }] } }
`

test('a compile in the thread gives the result the compiler gives, with the filter sites to locate a later dry build', async (t) => {
  const thread = new CompileThread()
  t.after(() => thread.close())
  process.env.SY_COMPILE_THREAD_KEY = 'k1'
  const r = await thread.compile([{ name: 'a.yaml', text: CONFIG('a') }], { source: 'file:a.yaml', filterSites: true }, true)
  assert.ok(r.ok, JSON.stringify(r.diagnostics))
  assert.equal(thread.running, true)
  assert.deepStrictEqual(r.ir.clusters.map((c) => c.name), ['a'])
  const located = filterProblemDiagnostics(r.filterSites!, [{ filter: 'tag', message: 'no' }])
  assert.deepStrictEqual(located.map((d) => [d.code, d.source, d.line, d.col, d.message]), [['SY_CFG_FILTER', 'a.yaml', 8, 13, "filter 'tag': no"]])
  const bad = await thread.compile([{ name: 'b.yaml', text: 'clusters: [{ name: a, provider: nope }]' }], { source: 'file:b.yaml' }, false)
  assert.equal(bad.ok, false)
  assert.ok(bad.diagnostics.every((d) => d.source === 'b.yaml'))
})

test('each compile sees the environment as it is then, not as it was when the thread started', async (t) => {
  const thread = new CompileThread()
  t.after(() => thread.close())
  const keyOf = async () => {
    const r = await thread.compile([{ name: 'a.yaml', text: CONFIG('a') }], { source: 'file:a.yaml' }, false)
    assert.ok(r.ok)
    return JSON.stringify(r.ir)
  }
  process.env.SY_COMPILE_THREAD_KEY = 'first-key'
  assert.match(await keyOf(), /first-key/)
  process.env.SY_COMPILE_THREAD_KEY = 'second-key'
  assert.match(await keyOf(), /second-key/)
})

test('what a compile throws comes back as an error (not a hang); close ends the thread', async () => {
  const thread = new CompileThread()
  // Not a text: the YAML loader throws, as compileConfig would throw on the main thread.
  await assert.rejects(thread.compile([{ name: 'a.yaml', text: 42 as unknown as string }], { source: 'x' }, false), (e: Error) => e instanceof Error && e.message.length > 0)
  assert.equal(thread.running, true)
  await thread.close()
  assert.equal(thread.running, false)
  await thread.close()
})

test('release ends an idle thread after idleMs, and a compile before then keeps it', async () => {
  const thread = new CompileThread({ idleMs: 300 })
  const compile = () => thread.compile([{ name: 'a.yaml', text: CONFIG('a') }], { source: 'x' }, false)
  await compile()
  thread.release()
  await new Promise((r) => setTimeout(r, 100))
  await compile()
  assert.equal(thread.running, true)
  thread.release()
  await eventually(() => !thread.running, 3000, 'the idle thread to end')
})

test('SWITCHYARD_COMPILE_THREAD_IDLE_MS sets the idle time; nonsense keeps the default', () => {
  assert.equal(compileThreadIdleMs({}), DEFAULT_IDLE_MS)
  assert.equal(compileThreadIdleMs({ SWITCHYARD_COMPILE_THREAD_IDLE_MS: '0' }), 0)
  assert.equal(compileThreadIdleMs({ SWITCHYARD_COMPILE_THREAD_IDLE_MS: '1500' }), 1500)
  assert.equal(compileThreadIdleMs({ SWITCHYARD_COMPILE_THREAD_IDLE_MS: 'soon' }), DEFAULT_IDLE_MS)
  assert.equal(compileThreadIdleMs({ SWITCHYARD_COMPILE_THREAD_IDLE_MS: '-1' }), DEFAULT_IDLE_MS)
})
