import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLoadBalancer } from '../../../src/runtime/lb/index.js'
import { createStores } from '../../../src/runtime/stores.js'
import { counts, endpoints, picks } from '../../support/lb-endpoints.js'

test('smooth weighted round robin interleaves 5,1,1 as a,a,b,a,c,a,a', () => {
  const lb = createLoadBalancer('weighted', 'c', endpoints(['a', 5], ['b', 1], ['c', 1]), createStores())
  assert.deepStrictEqual(picks(lb, 7), ['a', 'a', 'b', 'a', 'c', 'a', 'a'])
})

test('smooth weighted round robin repeats the same cycle', () => {
  const lb = createLoadBalancer('weighted', 'c', endpoints(['a', 5], ['b', 1], ['c', 1]), createStores())
  const all = picks(lb, 21)
  assert.deepStrictEqual([all.slice(7, 14), all.slice(14, 21)], [all.slice(0, 7), all.slice(0, 7)])
})

test('weighted picks are exactly proportional over a full cycle', () => {
  const lb = createLoadBalancer('weighted', 'c', endpoints(['a', 3], ['b', 2], ['c', 1]), createStores())
  assert.deepStrictEqual(counts(picks(lb, 6)), { a: 3, b: 2, c: 1 })
})

test('weighted picks are exactly proportional over many cycles', () => {
  const lb = createLoadBalancer('weighted', 'c', endpoints(['a', 7], ['b', 2], ['c', 1]), createStores())
  assert.deepStrictEqual(counts(picks(lb, 1000)), { a: 700, b: 200, c: 100 })
})

test('equal weights behave like round robin', () => {
  const lb = createLoadBalancer('weighted', 'c', endpoints('a', 'b', 'c'), createStores())
  assert.deepStrictEqual(picks(lb, 6), ['a', 'b', 'c', 'a', 'b', 'c'])
})

test('a zero-weight endpoint is never picked', () => {
  const lb = createLoadBalancer('weighted', 'c', endpoints(['a', 2], ['b', 0], ['c', 1]), createStores())
  assert.deepStrictEqual(counts(picks(lb, 300)), { a: 200, c: 100 })
})

test('a single live endpoint among zero weights is always picked', () => {
  const lb = createLoadBalancer('weighted', 'c', endpoints(['a', 0], ['b', 4]), createStores())
  assert.deepStrictEqual(picks(lb, 3), ['b', 'b', 'b'])
})

test('weighted state survives rebuilding the balancer with the same store (a reload)', () => {
  const stores = createStores()
  const set = () => endpoints(['a', 5], ['b', 1], ['c', 1])
  const before = picks(createLoadBalancer('weighted', 'c', set(), stores), 3)
  const after = picks(createLoadBalancer('weighted', 'c', set(), stores), 4)
  assert.deepStrictEqual([...before, ...after], ['a', 'a', 'b', 'a', 'c', 'a', 'a'])
})

test('weighted state starts over when a weight changes', () => {
  const stores = createStores()
  picks(createLoadBalancer('weighted', 'c', endpoints(['a', 5], ['b', 1], ['c', 1]), stores), 3)
  assert.deepStrictEqual(picks(createLoadBalancer('weighted', 'c', endpoints(['a', 5], ['b', 1], ['c', 2]), stores), 8), ['a', 'c', 'a', 'a', 'b', 'a', 'c', 'a'])
})
