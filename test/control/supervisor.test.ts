/**
 * The supervisor in-process, on a config source kept in memory and the real worker entry: what
 * the admin API would read (status) through start, reloads and stop.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ConfigSource } from '../../src/control/sources/source.js'
import { StartupError, Supervisor } from '../../src/control/supervisor.js'
import { eventually } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

/** A source whose text the test sets; `change()` plays the watcher. */
function memorySource(text: string) {
  let onChange = () => {}
  const source: ConfigSource & { text: string; closed: boolean; change(): void } = {
    description: 'memory:test',
    text,
    closed: false,
    load: async () => ({ sources: [{ name: 'memory.yaml', text: source.text }] }),
    watch: (fn) => { onChange = fn },
    close: async () => { source.closed = true },
    change: () => onChange(),
  }
  return source
}

const config = (port: number, cluster: string) => `
admin: { port: 0 }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes: [{ name: main, rules: [{ cluster: ${cluster} }] }]
clusters: [{ name: ${cluster}, provider: mock }]
`

test('start, a reload on change, a rejected reload and stop, as the status shows them', async (t) => {
  const port = await freePort()
  const source = memorySource(config(port, 'a'))
  const gateway = await Supervisor.start({ source, workers: 2 })
  t.after(() => gateway.stop())
  const { status } = gateway
  // Read through a function: TypeScript would keep a property narrowed by one assertion for the next.
  const lastReload = () => status.lastReload
  const first = status.ir.version
  assert.equal(status.source, source)
  assert.equal(status.shuttingDown, false)
  assert.equal(lastReload(), undefined)
  assert.deepStrictEqual(status.workers.map((w) => [w.version, w.ports]), [[first, [port]], [first, [port]]])
  assert.deepStrictEqual(Object.keys(await status.clusters!()), ['a'])

  source.text = config(port, 'b')
  source.change()
  await eventually(() => status.ir.version !== first && status.workers.every((w) => w.version === status.ir.version), 5000, 'the reload')
  const second = status.ir.version
  assert.deepStrictEqual(lastReload(), { at: status.loadedAt, ok: true, version: second })
  assert.deepStrictEqual(Object.keys(await status.clusters!()), ['b'])

  source.text = 'listeners: [{ name: api }'
  await gateway.reload()
  assert.equal(status.ir.version, second)
  const rejected = lastReload()!
  assert.equal(rejected.ok, false)
  assert.match(rejected.errors![0], /^memory\.yaml:/)

  const stopping = gateway.stop()
  assert.equal(gateway.stop(), stopping)
  assert.equal(status.shuttingDown, true)
  await stopping
  assert.equal(source.closed, true)
  await eventually(() => status.workers.length === 0, 2000, 'the workers to exit')
})

test('an invalid first config is a StartupError with its diagnostics, and nothing starts', async () => {
  const source = memorySource('clusters: [{ name: a, provider: nope }]')
  const err = await Supervisor.start({ source, workers: 1 }).then(() => undefined, (e: unknown) => e)
  assert.ok(err instanceof StartupError, String(err))
  assert.ok(err.diagnostics.length > 0)
  assert.ok(err.diagnostics.every((d) => d.source === 'memory.yaml'), JSON.stringify(err.diagnostics))
})

test('a source that cannot be read fails the start as one SY_CFG_IO diagnostic', async () => {
  const source = memorySource('')
  source.load = async () => { throw Object.assign(new Error('gone'), { code: 'ENOENT' }) }
  const err = await Supervisor.start({ source, workers: 1 }).then(() => undefined, (e: unknown) => e)
  assert.ok(err instanceof StartupError)
  assert.deepStrictEqual(err.diagnostics, [{ code: 'SY_CFG_IO', source: 'memory:test', line: 1, col: 1, path: '', message: 'ENOENT: gone' }])
})

test('workers that cannot serve the first snapshot end the start with their errors, and are ended', async (t) => {
  const port = await freePort()
  const blocker = await import('node:net').then(({ createServer }) => new Promise<import('node:net').Server>((resolve) => {
    const s = createServer().listen(port, '127.0.0.1', () => resolve(s))
  }))
  t.after(() => new Promise<void>((r) => blocker.close(() => r())))
  const source = memorySource(config(port, 'a'))
  const err = await Supervisor.start({ source, workers: 1 }).then(() => undefined, (e: unknown) => e)
  assert.ok(err instanceof StartupError, String(err))
  assert.deepStrictEqual(err.diagnostics, [])
  assert.match(err.message, new RegExp(String(port)))
})

/** `config` with a `headers` filter on the listener; `value` is what its factory is given. */
const withHeaderFilter = (port: number, value: string) => `admin: { port: 0 }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [tag] }]
routes: [{ name: main, rules: [{ cluster: a }] }]
clusters: [{ name: a, provider: mock }]
filters:
  - name: tag
    type: headers
    config:
      request: { set: [{ name: x-tag, value: ${JSON.stringify(value)} }] }
`

test('a first config a filter factory rejects is a StartupError at that config (the workers\' build is its dry build)', async () => {
  const port = await freePort()
  const source = memorySource(withHeaderFilter(port, 'a\nb'))
  const err = await Supervisor.start({ source, workers: 2 }).then(() => undefined, (e: unknown) => e)
  assert.ok(err instanceof StartupError, String(err))
  assert.deepStrictEqual(err.diagnostics.map((d) => [d.code, d.source, d.line, d.col]), [['SY_CFG_FILTER', 'memory.yaml', 9, 7]])
  assert.match(err.diagnostics[0].message, /^filter 'tag': header 'x-tag': value must not contain CR, LF or NUL/)
})

test('a reload a filter factory rejects is located and rejected by a worker\'s dry build; the last good config keeps serving', async (t) => {
  const port = await freePort()
  const source = memorySource(withHeaderFilter(port, 'fine'))
  const gateway = await Supervisor.start({ source, workers: 2 })
  t.after(() => gateway.stop())
  const { status } = gateway
  const first = status.ir.version
  source.text = withHeaderFilter(port, 'a\rb')
  await gateway.reload()
  assert.equal(status.ir.version, first)
  const rejected = status.lastReload!
  assert.equal(rejected.ok, false)
  assert.deepStrictEqual(rejected.errors!.length, 1)
  assert.match(rejected.errors![0], /^memory\.yaml:9:7: .*filter 'tag': header 'x-tag': value must not contain CR, LF or NUL/)
  assert.ok(status.workers.every((w) => w.version === first && w.error === undefined), JSON.stringify(status.workers))
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) })
  assert.equal(res.status, 200)
  await res.arrayBuffer()
})
