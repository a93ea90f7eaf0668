import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLoadBalancer } from '../../../src/runtime/lb/index.js'
import { createStores } from '../../../src/runtime/stores.js'
import { CELLS_PER_ENDPOINT } from '../../../src/shared/shared-state.js'
import { counts, endpoints, load, picks, unload } from '../../support/lb-endpoints.js'

test('least request prefers the endpoint with fewer requests in flight', () => {
  const eps = endpoints('a', 'b')
  load(eps[0], 5)
  load(eps[1], 1)
  const lb = createLoadBalancer('least_request', 'c', eps, createStores())
  assert.deepStrictEqual(counts(picks(lb, 200)), { b: 200 })
})

test('least request never picks the single busiest of three endpoints', () => {
  const eps = endpoints('a', 'b', 'c')
  load(eps[1], 10)
  const lb = createLoadBalancer('least_request', 'c', eps, createStores())
  assert.deepStrictEqual(Object.keys(counts(picks(lb, 1000))).sort(), ['a', 'c'])
})

test('least request follows in-flight counts as they change', () => {
  const eps = endpoints('a', 'b')
  const lb = createLoadBalancer('least_request', 'c', eps, createStores())
  load(eps[0], 3)
  const first = picks(lb, 20)
  unload(eps[0], 3)
  load(eps[1], 3)
  const second = picks(lb, 20)
  assert.deepStrictEqual([counts(first), counts(second)], [{ b: 20 }, { a: 20 }])
})

test('least request spreads picks over endpoints that are equally loaded', () => {
  const lb = createLoadBalancer('least_request', 'c', endpoints('a', 'b', 'c'), createStores())
  assert.deepStrictEqual(Object.keys(counts(picks(lb, 1000))).sort(), ['a', 'b', 'c'])
})

test('least request over one endpoint always picks it', () => {
  const eps = endpoints('a')
  load(eps[0], 100)
  const lb = createLoadBalancer('least_request', 'c', eps, createStores())
  assert.deepStrictEqual(picks(lb, 3), ['a', 'a', 'a'])
})

test('least request reads in-flight counts from the store, so load carries across a reload', () => {
  const stores = createStores()
  stores.endpointStats('test|mock://a').start()
  const rebuilt = () => endpoints('a', 'b').map((e) => ({ ...e, stats: stores.endpointStats(e.key) }))
  createLoadBalancer('least_request', 'c', rebuilt(), stores)
  const lb = createLoadBalancer('least_request', 'c', rebuilt(), stores)
  assert.deepStrictEqual(counts(picks(lb, 50)), { b: 50 })
})

test('least request counts are shared by stores over the same shared buffer (two workers)', () => {
  const buffer = new SharedArrayBuffer(2 * CELLS_PER_ENDPOINT * 4)
  const slots = { 'test|mock://a': 0, 'test|mock://b': 1 }
  const worker1 = createStores({ buffer, slots })
  const worker2 = createStores({ buffer, slots })
  worker1.endpointStats('test|mock://a').start()
  const eps = endpoints('a', 'b').map((e) => ({ ...e, stats: worker2.endpointStats(e.key) }))
  const lb = createLoadBalancer('least_request', 'c', eps, worker2)
  assert.deepStrictEqual(counts(picks(lb, 50)), { b: 50 })
})
