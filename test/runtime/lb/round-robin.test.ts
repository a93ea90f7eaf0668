import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLoadBalancer } from '../../../src/runtime/lb/index.js'
import { createRoundRobin } from '../../../src/runtime/lb/round-robin.js'
import { createStores } from '../../../src/runtime/stores.js'
import { endpoints, picks } from '../../support/lb-endpoints.js'

test('round robin cycles through the endpoints in order', () => {
  const lb = createLoadBalancer('round_robin', 'c', endpoints('a', 'b', 'c'), createStores())
  assert.deepStrictEqual(picks(lb, 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a'])
})

test('round robin ignores weights', () => {
  const lb = createLoadBalancer('round_robin', 'c', endpoints(['a', 5], ['b', 1]), createStores())
  assert.deepStrictEqual(picks(lb, 4), ['a', 'b', 'a', 'b'])
})

test('round robin over one endpoint always picks it', () => {
  const lb = createLoadBalancer('round_robin', 'c', endpoints('a'), createStores())
  assert.deepStrictEqual(picks(lb, 3), ['a', 'a', 'a'])
})

test('round robin keeps its rotation when rebuilt with the same store (a reload)', () => {
  const stores = createStores()
  const before = picks(createLoadBalancer('round_robin', 'c', endpoints('a', 'b', 'c'), stores), 2)
  const after = picks(createLoadBalancer('round_robin', 'c', endpoints('a', 'b', 'c'), stores), 2)
  assert.deepStrictEqual([...before, ...after], ['a', 'b', 'c', 'a'])
})

test('round robin starts over when the endpoint set changes', () => {
  const stores = createStores()
  picks(createLoadBalancer('round_robin', 'c', endpoints('a', 'b', 'c'), stores), 2)
  assert.deepStrictEqual(picks(createLoadBalancer('round_robin', 'c', endpoints('a', 'b', 'd'), stores), 3), ['a', 'b', 'd'])
})

test('round robin state is separate per cluster', () => {
  const stores = createStores()
  picks(createLoadBalancer('round_robin', 'one', endpoints('a', 'b'), stores), 1)
  assert.deepStrictEqual(picks(createLoadBalancer('round_robin', 'two', endpoints('a', 'b'), stores), 2), ['a', 'b'])
})

test('round robin wraps its counter without skipping or repeating an endpoint', () => {
  const state = { next: 0x3fffffff - 2 }
  const lb = createRoundRobin(endpoints('a', 'b', 'c'), state)
  const start = (0x3fffffff - 2) % 3
  const expected = Array.from({ length: 6 }, (_, i) => ['a', 'b', 'c'][(start + i) % 3])
  assert.deepStrictEqual(picks(lb, 6), expected)
})
