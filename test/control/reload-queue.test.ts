/**
 * Reload ordering and last-good-wins, with real compiles of configs that a test changes between
 * (and during) passes, and an apply that records what it was given.
 */
import { test } from 'node:test'
import { redirectLog } from '../../src/shared/log.js'
import assert from 'node:assert/strict'
import { compileConfig, type CompileResult } from '../../src/compiler/index.js'
import type { SnapshotIR } from '../../src/compiler/ir.js'
import { ReloadQueue } from '../../src/control/reload-queue.js'

const config = (cluster: string) => `
listeners: [{ name: api, port: 8080, route_table: main }]
routes: [{ name: main, rules: [{ cluster: ${cluster} }] }]
clusters: [{ name: ${cluster}, provider: mock }]
`
const compile = (text: string): CompileResult => compileConfig([{ name: 'config.yaml', text }], { source: 'test', env: {} })
function compiled(text: string): SnapshotIR {
  const r = compile(text)
  assert.ok(r.ok, JSON.stringify(r.diagnostics))
  return r.ir
}
const BROKEN = config('a').replace('cluster: a }', 'cluster: nowhere }')

/** A source whose text a test sets; each compile reads it when it starts and may be held open. */
function rig(first: string) {
  const rig = {
    text: first,
    compiles: 0,
    applied: [] as string[],
    hold: undefined as Promise<void> | undefined,
    queue: undefined as unknown as ReloadQueue,
  }
  rig.queue = new ReloadQueue(compiled(first), {
    compile: async () => {
      rig.compiles++
      const text = rig.text
      await rig.hold
      return compile(text)
    },
    apply: async (ir) => { rig.applied.push(ir.clusters[0].name) },
  })
  return rig
}

function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void
  const wait = new Promise<void>((r) => (open = r))
  return { wait, open }
}

/** The log lines this thread writes while `fn` runs (shared/log.ts redirectLog). */
async function logged(fn: () => Promise<void>): Promise<string> {
  let out = ''
  redirectLog((line) => void (out += line))
  try {
    await fn()
  } finally {
    redirectLog(undefined)
  }
  return out
}

test('a valid change becomes current, is applied, and is reported as the last reload', async () => {
  const r = rig(config('a'))
  const before = r.queue.loadedAt
  assert.equal(r.queue.lastReload, undefined)
  r.text = config('b')
  await new Promise((res) => setTimeout(res, 5))
  await r.queue.request()
  assert.deepStrictEqual(r.applied, ['b'])
  assert.equal(r.queue.current.clusters[0].name, 'b')
  assert.notEqual(r.queue.loadedAt, before)
  assert.deepStrictEqual(r.queue.lastReload, { at: r.queue.loadedAt, ok: true, version: r.queue.current.version })
})

test('requests during a compile collapse into one more pass, which reads the config as it is by then', async () => {
  const r = rig(config('a'))
  const held = gate()
  r.hold = held.wait
  r.text = config('b')
  const first = r.queue.request()
  r.text = config('c')
  const more = [r.queue.request(), r.queue.request()]
  r.text = config('d')
  more.push(r.queue.request())
  held.open()
  await Promise.all([first, ...more])
  assert.equal(r.compiles, 2)
  assert.deepStrictEqual(r.applied, ['b', 'd'])
  assert.equal(r.queue.current.clusters[0].name, 'd')
})

test('a request after a pass has ended starts a new pass', async () => {
  const r = rig(config('a'))
  r.text = config('b')
  await r.queue.request()
  r.text = config('c')
  await r.queue.request()
  assert.equal(r.compiles, 2)
  assert.deepStrictEqual(r.applied, ['b', 'c'])
})

test('an invalid config is rejected whole: the last good one stays current, and the errors show in lastReload and the log', async () => {
  const r = rig(config('a'))
  const good = r.queue.current
  const loadedAt = r.queue.loadedAt
  r.text = BROKEN
  const out = await logged(() => r.queue.request())
  assert.deepStrictEqual(r.applied, [])
  assert.equal(r.queue.current, good)
  assert.equal(r.queue.loadedAt, loadedAt)
  const last = r.queue.lastReload!
  assert.equal(last.ok, false)
  assert.equal(last.version, undefined)
  assert.equal(last.errors!.length, 1)
  assert.match(last.errors![0], /^config\.yaml:\d+:\d+: .*unknown cluster 'nowhere'/)
  assert.match(out, new RegExp(`config rejected; still serving version ${good.version} errors=1`))
  assert.ok(out.includes(last.errors![0]))

  r.text = config('b')
  await r.queue.request()
  assert.deepStrictEqual(r.applied, ['b'])
  assert.equal(r.queue.lastReload!.ok, true)
})

test('a config that compiles to the running version applies nothing but counts as a good reload', async () => {
  const r = rig(config('a'))
  const loadedAt = r.queue.loadedAt
  await new Promise((res) => setTimeout(res, 5))
  await r.queue.request()
  assert.deepStrictEqual(r.applied, [])
  assert.equal(r.queue.loadedAt, loadedAt)
  assert.equal(r.queue.lastReload!.ok, true)
  assert.equal(r.queue.lastReload!.version, r.queue.current.version)
  assert.notEqual(r.queue.lastReload!.at, loadedAt)
})

test('a pass that throws is logged, and the next request runs a fresh pass', async () => {
  let compiles = 0
  const queue = new ReloadQueue(compiled(config('a')), {
    compile: async () => compile(config(++compiles === 1 ? 'b' : 'c')),
    apply: async (ir) => {
      if (ir.clusters[0].name === 'b') throw new Error('no workers')
    },
  })
  const out = await logged(() => queue.request())
  assert.match(out, /error .*reload failed error="no workers"/)
  await queue.request()
  assert.equal(compiles, 2)
  assert.equal(queue.current.clusters[0].name, 'c')
})

test('after close() requests are ignored', async () => {
  const r = rig(config('a'))
  r.queue.close()
  r.text = config('b')
  await r.queue.request()
  assert.equal(r.compiles, 0)
  assert.equal(r.queue.current.clusters[0].name, 'a')
})
