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
    console.log(JSON.stringify({ flags: applyProcessV8Flags({ SWITCHYARD_WASM_TURBOFAN: '1' }), before, after: newSpace() }))
  `
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const { flags, before, after } = JSON.parse(r.stdout)
  assert.ok(before <= 2 * 1024 * 1024, `new space grew to ${before} bytes before the workers started`)
  assert.ok(after > before, `new space stayed at ${after} bytes after workersStarting()`)
  // After the workers started, applying the flags again sets no growth factor; the opt-out drops --liftoff-only.
  assert.deepStrictEqual(flags, [])
})

test('the process flags: Liftoff-only wasm unless SWITCHYARD_WASM_TURBOFAN=1', () => {
  const script = `
    const { applyProcessV8Flags } = await import(${JSON.stringify(new URL('../../src/control/worker-options.js', import.meta.url).href)})
    console.log(JSON.stringify([applyProcessV8Flags({}), applyProcessV8Flags({ SWITCHYARD_WASM_TURBOFAN: '1' })]))
  `
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assert.deepStrictEqual(JSON.parse(r.stdout), [['--liftoff-only', '--semi-space-growth-factor=1'], ['--semi-space-growth-factor=1']])
})
