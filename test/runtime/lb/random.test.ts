import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLoadBalancer } from '../../../src/runtime/lb/index.js'
import { createStores } from '../../../src/runtime/stores.js'
import { counts, endpoints, picks } from '../../support/lb-endpoints.js'

test('random picks every endpoint over many picks', () => {
  const lb = createLoadBalancer('random', 'c', endpoints('a', 'b', 'c', 'd'), createStores())
  assert.deepStrictEqual(Object.keys(counts(picks(lb, 1000))).sort(), ['a', 'b', 'c', 'd'])
})

test('random spreads picks roughly evenly', () => {
  const lb = createLoadBalancer('random', 'c', endpoints('a', 'b', 'c'), createStores())
  const c = counts(picks(lb, 9000))
  const off = Object.entries(c).filter(([, n]) => Math.abs(n - 3000) > 300)
  assert.deepStrictEqual(off, [])
})

test('random over one endpoint always picks it', () => {
  const lb = createLoadBalancer('random', 'c', endpoints('a'), createStores())
  assert.deepStrictEqual(picks(lb, 3), ['a', 'a', 'a'])
})
