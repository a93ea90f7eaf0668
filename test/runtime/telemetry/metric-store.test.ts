import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CounterFamily, HistogramFamily, SEP } from '../../../src/runtime/telemetry/metric-store.js'

test('a histogram puts a value equal to a bound in that bucket (le is inclusive) and exports cumulative counts', () => {
  const h = new HistogramFamily('x_seconds', 'x', ['route'], [0.1, 1])
  const s = h.add('r', ['r'])
  for (const v of [0.05, 0.1, 0.5, 1, 7]) h.observe(s, v)
  const json = h.toJSON()
  assert.deepStrictEqual(json.values.map((v) => [v.metricName, v.labels.le ?? null, v.value]), [
    ['x_seconds_bucket', 0.1, 2],
    ['x_seconds_bucket', 1, 4],
    ['x_seconds_bucket', '+Inf', 5],
    ['x_seconds_sum', null, 8.65],
    ['x_seconds_count', null, 5],
  ])
})

test('empty label values are left out of the exported labels', () => {
  const c = new CounterFamily('y_total', 'y', ['route', 'variant'])
  c.add('r' + SEP, ['r', '']).value += 3
  assert.deepStrictEqual(c.toJSON().values, [{ labels: { route: 'r' }, value: 3 }])
})
