import { test } from 'node:test'
import assert from 'node:assert/strict'
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
