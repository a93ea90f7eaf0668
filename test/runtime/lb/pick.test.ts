/**
 * Endpoint choice with eligibility: the cluster's LB proposes, the guard disposes; panic mode when
 * nothing (or too little, below panic_threshold) is eligible; pickEligible says "none" instead.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { pickEligible, pickEndpoint } from '../../../src/runtime/lb/pick.js'
import type { RequestHead } from '../../../src/runtime/types.js'
import { fakeCluster, fakeGuard } from '../../support/fake-cluster.js'

const head: RequestHead = { method: 'POST', path: '/v1/chat/completions', query: '', headers: {}, model: 'm' }
const named = (c: ReturnType<typeof fakeCluster>, name: string) => c.endpoints.find((e) => e.name === name)!

describe('without a guard', () => {
  test("the LB's proposal is taken", () => {
    const c = fakeCluster({ endpoints: ['a', 'b'], lbOrder: ['b', 'a'] })
    assert.equal(pickEndpoint(c, head).name, 'b')
  })

  test('an endpoint to avoid is skipped by asking the LB again', () => {
    const c = fakeCluster({ endpoints: ['a', 'b'], lbOrder: ['a', 'a', 'b'] })
    assert.deepStrictEqual([pickEndpoint(c, head, named(c, 'a')).name, c.lb.picks], ['b', 3])
  })

  test('an LB that keeps proposing the endpoint to avoid is overruled by a scan', () => {
    const c = fakeCluster({ endpoints: ['a', 'b'], lbOrder: ['a'] })
    assert.equal(pickEndpoint(c, head, named(c, 'a')).name, 'b')
  })

  test('a one-endpoint cluster returns the endpoint to avoid: there is no other', () => {
    const c = fakeCluster({ endpoints: ['a'] })
    assert.equal(pickEndpoint(c, head, named(c, 'a')).name, 'a')
  })

  test('pickEligible is pickEndpoint: without a guard every endpoint is eligible', () => {
    const c = fakeCluster({ endpoints: ['a', 'b'], lbOrder: ['b'] })
    assert.equal(pickEligible(c, head)?.name, 'b')
  })
})

describe('with a guard', () => {
  test('a healthy first proposal is taken, and only it is offered to the guard', () => {
    const guard = fakeGuard()
    const c = fakeCluster({ endpoints: ['a', 'b'], guard })
    assert.deepStrictEqual([pickEndpoint(c, head).name, guard.taken], ['a', ['a']])
  })

  test('a refused proposal sends the LB back for another', () => {
    const c = fakeCluster({ endpoints: ['a', 'b', 'c'], guard: fakeGuard('a') })
    assert.equal(pickEndpoint(c, head).name, 'b')
  })

  test("the LB's policy still orders the alternatives (not the endpoint list)", () => {
    const c = fakeCluster({ endpoints: ['a', 'b', 'c'], lbOrder: ['a', 'c', 'b'], guard: fakeGuard('a') })
    assert.equal(pickEndpoint(c, head).name, 'c')
  })

  test('an LB that only proposes refused endpoints is overruled by a scan for an eligible one', () => {
    const c = fakeCluster({ endpoints: ['a', 'b', 'c'], lbOrder: ['a', 'b'], guard: fakeGuard('a', 'b') })
    assert.equal(pickEndpoint(c, head).name, 'c')
  })

  test('an endpoint to avoid is passed over while another is eligible', () => {
    const c = fakeCluster({ endpoints: ['a', 'b'], guard: fakeGuard() })
    assert.equal(pickEndpoint(c, head, named(c, 'a')).name, 'b')
  })

  test('a one-endpoint cluster still offers the endpoint to avoid', () => {
    const c = fakeCluster({ endpoints: ['a'], guard: fakeGuard() })
    assert.equal(pickEligible(c, head, named(c, 'a'))?.name, 'a')
  })

  test("with no eligible endpoint pickEndpoint serves in panic mode: the LB's first proposal", () => {
    const c = fakeCluster({ endpoints: ['a', 'b'], lbOrder: ['b', 'a'], guard: fakeGuard('a', 'b') })
    assert.equal(pickEndpoint(c, head).name, 'b')
  })

  test('with no eligible endpoint pickEligible answers none, so a fallback can take over', () => {
    const c = fakeCluster({ endpoints: ['a', 'b'], guard: fakeGuard('a', 'b') })
    assert.equal(pickEligible(c, head), undefined)
  })
})

describe('panic_threshold', () => {
  const cases: { name: string; ineligible: string[]; threshold: number; endpoint: string; eligible: string | undefined }[] = [
    { name: "below the threshold (1 of 3 eligible, 50 %) the LB's choice stands, eligible or not", ineligible: ['a', 'b'], threshold: 50, endpoint: 'a', eligible: 'a' },
    { name: 'at or above the threshold (2 of 3 eligible, 50 %) an eligible endpoint is chosen', ineligible: ['a'], threshold: 50, endpoint: 'b', eligible: 'b' },
    { name: 'with none eligible, the threshold aside, pickEndpoint panics and pickEligible answers none', ineligible: ['a', 'b', 'c'], threshold: 50, endpoint: 'a', eligible: undefined },
    { name: 'a threshold of 0 panics only when none is eligible', ineligible: ['a', 'b'], threshold: 0, endpoint: 'c', eligible: 'c' },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const make = () => fakeCluster({ endpoints: ['a', 'b', 'c'], guard: fakeGuard(...c.ineligible), panicThreshold: c.threshold })
      assert.deepStrictEqual([pickEndpoint(make(), head).name, pickEligible(make(), head)?.name], [c.endpoint, c.eligible])
    })
  }
})
