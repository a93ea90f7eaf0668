import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { DEFAULT_YOUNG_GENERATION_MB, workerOptions } from '../../src/control/worker-options.js'

const data = { shared: new SharedArrayBuffer(8), workers: 2 }

test("each worker's young generation is capped by default, and the options carry its WorkerData", () => {
  const o = workerOptions(data, {})
  assert.equal(o.workerData, data)
  assert.deepStrictEqual(o.resourceLimits, { maxYoungGenerationSizeMb: DEFAULT_YOUNG_GENERATION_MB })
})

test('SWITCHYARD_WORKER_YOUNG_MB sets the cap; 0 leaves the sizing to V8; nonsense keeps the default', () => {
  assert.deepStrictEqual(workerOptions(data, { SWITCHYARD_WORKER_YOUNG_MB: '12' }).resourceLimits, { maxYoungGenerationSizeMb: 12 })
  assert.equal(workerOptions(data, { SWITCHYARD_WORKER_YOUNG_MB: '0' }).resourceLimits, undefined)
  assert.deepStrictEqual(workerOptions(data, { SWITCHYARD_WORKER_YOUNG_MB: 'lots' }).resourceLimits, { maxYoungGenerationSizeMb: DEFAULT_YOUNG_GENERATION_MB })
})

/**
 * In a fresh process (the flags are process-wide): once worker-options.ts has loaded, the main thread's new
 * space does not grow however much survives, and grows again after workersStarting().
 */
test("the main thread's young generation stays small until the workers start, then grows as V8 decides", () => {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8'
    const { workersStarting, applyProcessV8Flags } = await import(${JSON.stringify(new URL('../../src/control/worker-options.js', import.meta.url).href)})
    const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size
    const burst = () => { let keep = []; for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 3e5) keep = [] } }
    burst()
    const before = newSpace()
    workersStarting()
    burst()
    console.log(JSON.stringify({ flags: applyProcessV8Flags({ SWITCHYARD_WASM_TURBOFAN: '1', SWITCHYARD_HEAP_TRIM: '0' }), before, after: newSpace() }))
  `
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const { flags, before, after } = JSON.parse(r.stdout)
  assert.ok(before <= 2 * 1024 * 1024, `new space grew to ${before} bytes before the workers started`)
  assert.ok(after > before, `new space stayed at ${after} bytes after workersStarting()`)
  // After the workers started, applying the flags again sets no growth factor; the opt-out drops --liftoff-only.
  assert.deepStrictEqual(flags, [])
})

test('the process flags: Liftoff-only wasm unless SWITCHYARD_WASM_TURBOFAN=1; --expose-gc for the heap trim unless SWITCHYARD_HEAP_TRIM=0', () => {
  const script = `
    const { applyProcessV8Flags } = await import(${JSON.stringify(new URL('../../src/control/worker-options.js', import.meta.url).href)})
    console.log(JSON.stringify([applyProcessV8Flags({}), applyProcessV8Flags({ SWITCHYARD_WASM_TURBOFAN: '1' }), applyProcessV8Flags({ SWITCHYARD_HEAP_TRIM: '0' })]))
  `
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assert.deepStrictEqual(JSON.parse(r.stdout), [
    ['--liftoff-only', '--expose-gc', '--semi-space-growth-factor=1'],
    ['--expose-gc', '--semi-space-growth-factor=1'],
    ['--liftoff-only', '--semi-space-growth-factor=1'],
  ])
})

/**
 * In fresh processes with a 1 MB nursery (as a busy worker's): objects that survive two scavenges and then die
 * pile up in the old generation until the next full GC. With the gateway's growing factor the old space stays
 * near what is alive; with V8's own (SWITCHYARD_HEAP_GROWING_PERCENT=0) it grows to a multiple of it.
 */
test("the old generation grows by half of what survived, not by V8's factor for large heaps", () => {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8'
    const { applyHeapGrowth } = await import(${JSON.stringify(new URL('../../src/control/worker-options.js', import.meta.url).href)})
    const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size
    const live = []
    for (let i = 0; i < 2e5; i++) live.push({ i, s: 'live' + i })
    const ring = new Array(1e5)
    let peak = 0
    for (let i = 0; i < 3e6; i++) {
      ring[i % ring.length] = { i, s: 'x' + i, a: [i] }
      if ((i & 0xffff) === 0) peak = Math.max(peak, oldSpace())
    }
    console.log(JSON.stringify({ flag: applyHeapGrowth(), peakMb: peak / 1048576, live: live.length }))
  `
  const run = (env: NodeJS.ProcessEnv) => {
    const r = spawnSync(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ...env } })
    assert.equal(r.status, 0, r.stderr)
    return JSON.parse(r.stdout) as { flag: string, peakMb: number }
  }
  const ours = run({ SWITCHYARD_HEAP_GROWING_PERCENT: '' })
  const v8s = run({ SWITCHYARD_HEAP_GROWING_PERCENT: '0' })
  assert.equal(ours.flag, '--heap-growing-percent=50')
  assert.equal(v8s.flag, '--heap-growing-percent=0')
  assert.ok(ours.peakMb < 0.7 * v8s.peakMb, `old space peaked at ${ours.peakMb.toFixed(1)} MB with the gateway's factor, ${v8s.peakMb.toFixed(1)} MB with V8's`)
})
