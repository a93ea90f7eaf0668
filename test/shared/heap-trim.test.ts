import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { HEAP_TRIM_STEP_BYTES, HeapTrim } from '../../src/shared/heap-trim.js'

const MB = 1024 * 1024

/** A HeapTrim over a pretend old space: `used` is set by the test, the gc resolves when told. */
function rig(start: number) {
  let used = start
  const calls: Array<() => void> = []
  const trim = new HeapTrim(
    () =>
      new Promise<void>((resolve) => {
        calls.push(() => {
          used = start
          resolve()
        })
      }),
    () => used,
  )
  return { trim, calls, grow: (bytes: number) => (used += bytes), set: (b: number) => (used = b) }
}

test('collects once the old space is a step above what the last collection kept, and one at a time', async () => {
  const r = rig(4 * MB)
  r.grow(HEAP_TRIM_STEP_BYTES - 1)
  assert.equal(r.trim.check(), false, 'below the step')
  r.grow(1)
  assert.equal(r.trim.check(), true, 'at the step')
  r.grow(10 * MB)
  assert.equal(r.trim.check(), false, 'one collection at a time')
  assert.equal(r.calls.length, 1)
  r.calls[0]!()
  await new Promise((res) => setImmediate(res))
  assert.equal(r.trim.check(), false, 'the floor is what the collection left')
  assert.equal(r.trim.collections, 1)
})

test('the step grows with what is alive: a fifth of it above 2 MB', () => {
  const r = rig(50 * MB)
  r.grow(9 * MB)
  assert.equal(r.trim.check(), false)
  r.grow(1 * MB)
  assert.equal(r.trim.check(), true)
})

test('a collection V8 made on its own lowers the floor', () => {
  const r = rig(20 * MB)
  r.set(10 * MB)
  assert.equal(r.trim.check(), false)
  r.grow(HEAP_TRIM_STEP_BYTES)
  assert.equal(r.trim.check(), true, 'measured from the lower floor')
})

// In fresh processes: the flag as worker-options.ts sets it (at run time, before a worker starts).
function run(script: string, args: string[] = []) {
  const r = spawnSync(process.execPath, [...args, '--input-type=module', '-e', script], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout) as Record<string, unknown>
}
const heapTrimUrl = JSON.stringify(new URL('../../src/shared/heap-trim.js', import.meta.url).href)

test('with --expose-gc set before a worker starts, the worker and the main thread both get a gc', () => {
  const out = run(`
    import { setFlagsFromString } from 'node:v8'
    import { Worker } from 'node:worker_threads'
    const { gcFunction } = await import(${heapTrimUrl})
    const before = typeof gcFunction()
    setFlagsFromString('--expose-gc')
    const w = new Worker(\`Promise.all([import(${heapTrimUrl}), import('node:worker_threads')]).then(([{ gcFunction }, { parentPort }]) => parentPort.postMessage(typeof gcFunction()))\`, { eval: true })
    const inWorker = await new Promise((r) => w.once('message', r))
    await w.terminate()
    console.log(JSON.stringify({ before, main: typeof gcFunction(), inWorker }))
  `)
  assert.deepStrictEqual(out, { before: 'undefined', main: 'function', inWorker: 'function' })
})

test('under promotion the trimmed old space stays near what is alive', () => {
  // Objects kept alive for a while (like requests in flight at a scavenge) are promoted and die old.
  const script = (trim: boolean) => `
    import { getHeapSpaceStatistics } from 'node:v8'
    const { HeapTrim, gcFunction, oldSpaceUsed } = await import(${heapTrimUrl})
    const trim = ${trim} ? new HeapTrim(gcFunction()) : undefined
    const ring = new Array(20000)
    let peak = 0
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 50000; i++) ring[i % 20000] = { a: 'x' + i + round, b: [i], c: { d: i } }
      trim?.check()
      await new Promise((r) => setImmediate(r))
      peak = Math.max(peak, oldSpaceUsed())
    }
    console.log(JSON.stringify({ peak, collections: trim?.collections ?? 0 }))
  `
  const trimmed = run(script(true), ['--expose-gc', '--max-semi-space-size=1'])
  const plain = run(script(false), ['--max-semi-space-size=1'])
  assert.ok((trimmed.collections as number) > 0, JSON.stringify(trimmed))
  assert.ok((trimmed.peak as number) < (plain.peak as number), `trimmed ${JSON.stringify(trimmed)} vs plain ${JSON.stringify(plain)}`)
})
