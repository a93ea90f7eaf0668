/**
 * The weighted pick under a rollout: the candidate's share of the pair follows the shared cell on
 * every call (no rebuild), sticky keys move from baseline to candidate once (when the growing
 * boundary passes them) and never back while the share grows, and the split's other clusters keep
 * exactly their keys.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { RouteTableIR } from '../../../src/compiler/ir.js'
import { compileRouteTable } from '../../../src/runtime/routing/routes.js'
import { RolloutShare } from '../../../src/shared/shared-state.js'
import type { CompiledChain, CompiledCluster, RequestHead } from '../../../src/runtime/types.js'

function table(clusters: { name: string; weight: number }[], hash = true): RouteTableIR {
  return {
    name: 'main',
    rules: [{
      name: 'chat', index: 0, match: { headers: [], query: [] }, streamRecovery: 'error', filterOverrides: {},
      action: { kind: 'weighted', clusters, ...(hash && { hashHeader: 'x-user-id' }), rollout: { candidate: 'new', baseline: 'old', steps: [1, 5, 25, 50, 100], stepMs: 1000, guards: { minRequests: 1 } } },
    }],
  } as RouteTableIR
}

function picker(clusters: { name: string; weight: number }[], hash = true) {
  const share = RolloutShare.local()
  const keys: string[] = []
  const t = compileRouteTable(table(clusters, hash), {
    cluster: (name) => ({ name }) as CompiledCluster,
    chainFor: () => ({}) as CompiledChain,
    rolloutShare: (key) => (keys.push(key), share),
  })
  const action = t.routes[0].action
  assert.equal(action.kind, 'weighted')
  const pick = (user?: string) => action.pick({ headers: user === undefined ? {} : { 'x-user-id': user } } as unknown as RequestHead).name
  return { share, keys, pick }
}

const USERS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`)

test("the rule's cell is the one named <table>/<rule>, and 0 % sends nothing to the candidate", () => {
  const p = picker([{ name: 'old', weight: 100 }, { name: 'new', weight: 0 }])
  assert.deepStrictEqual(p.keys, ['main/chat'])
  assert.ok(USERS.every((u) => p.pick(u) === 'old'))
})

test('sticky users move to the candidate once, at the step that takes them, never back', () => {
  const p = picker([{ name: 'old', weight: 1 }, { name: 'new', weight: 0 }])
  const movedAt = new Map<string, number>()
  for (const step of [1, 5, 25, 50, 100]) {
    p.share.basisPoints = step * 100
    let onCandidate = 0
    for (const u of USERS) {
      const c = p.pick(u)
      assert.equal(p.pick(u), c, 'the same key, the same answer')
      if (c === 'new') {
        onCandidate++
        if (!movedAt.has(u)) movedAt.set(u, step)
      } else assert.ok(!movedAt.has(u), `${u} moved to the candidate at ${movedAt.get(u)} % and back at ${step} %`)
    }
    // Even a 1-weight pair divides finely: the share is the fraction of keys, within 1 point.
    assert.ok(Math.abs(onCandidate / USERS.length - step / 100) < 0.01, `${step} %: ${onCandidate}`)
  }
  assert.equal(movedAt.size, USERS.length)
})

test("the split's other clusters keep their keys; only the pair's traffic is divided", () => {
  const p = picker([{ name: 'other', weight: 30 }, { name: 'old', weight: 70 }, { name: 'new', weight: 0 }])
  const before = new Map(USERS.map((u) => [u, p.pick(u)]))
  p.share.basisPoints = 5000
  let moved = 0
  for (const u of USERS) {
    const now = p.pick(u)
    if (before.get(u) === 'other') assert.equal(now, 'other')
    else if (now !== before.get(u)) moved++
  }
  const other = [...before.values()].filter((c) => c === 'other').length
  assert.ok(Math.abs(other / USERS.length - 0.3) < 0.02, `other ${other}`)
  assert.ok(Math.abs(moved / (USERS.length - other) - 0.5) < 0.02, `moved ${moved}`)
})

test('random splits follow the share too, and a request without the key is split randomly', () => {
  const p = picker([{ name: 'old', weight: 100 }, { name: 'new', weight: 0 }], false)
  p.share.basisPoints = 2500
  const n = 20_000
  const toNew = Array.from({ length: n }, () => p.pick()).filter((c) => c === 'new').length
  assert.ok(Math.abs(toNew / n - 0.25) < 0.02, String(toNew))
  const sticky = picker([{ name: 'old', weight: 100 }, { name: 'new', weight: 0 }])
  sticky.share.basisPoints = 10_000
  assert.equal(sticky.pick(undefined), 'new')
})
