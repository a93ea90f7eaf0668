import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bucketQuantile } from '../../../src/control/metrics/quantile.js'

test('quantiles interpolate inside the bucket the rank falls in, as histogram_quantile does', () => {
  const b = [{ le: 0.1, count: 10 }, { le: 1, count: 30 }, { le: Infinity, count: 40 }]
  assert.deepStrictEqual([bucketQuantile(0.25, b), bucketQuantile(0.5, b), bucketQuantile(0.95, b), bucketQuantile(0.5, [])], [0.1, 0.55, 1, undefined])
})
