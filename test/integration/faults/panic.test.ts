/**
 * Clusters with too few eligible endpoints end to end: passed over for the next fallback, the last
 * one served in panic mode, and panic_threshold spreading traffic.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chat, chatCompletions, rig, show } from '../../support/fault-rig.js'

test('a cluster with no eligible endpoint is passed over for the next fallback; the last cluster serves in panic mode', async (t) => {
  const { port, up, endpoint } = await rig(t, ['A', 'B', 'C'], (u) => `
routes:
  - name: main
    rules:
      - name: chain
        match: { headers: [{ name: x-case, exact: chain }] }
        fallback: { clusters: [{ cluster: sick }, { cluster: backup }], on: [connect_failure] }
      - name: alone
        match: { headers: [{ name: x-case, exact: alone }] }
        cluster: sick
clusters:
  - name: sick
    provider: openai
    # Outlier detection never ejects a cluster's last endpoint; a breaker does open on it.
    endpoint_circuit_breaker: { consecutive_failures: 1, open_duration: 30s }
    endpoints: [{ url: "${u.A.url}" }]
  - { name: backup, provider: openai, endpoints: [{ url: "${u.B.url}" }] }
`)
  up.A.failNext('500')
  const first = await chat(port, { headers: { 'x-case': 'alone' } })
  assert.equal(first.status, 500, show(first))
  assert.deepEqual((await endpoint('sick', up.A.url)).reasons, ['breaker_open'])
  const seenByA = chatCompletions(up.A).length
  // 500s are not in this chain's `on` list: only "nothing eligible" can move it to the backup.
  const r = await chat(port, { headers: { 'x-case': 'chain' } })
  assert.equal(r.who, 'B', show(r))
  assert.equal(r.headers.get('x-switchyard-cluster'), 'backup', show(r))
  assert.equal(r.headers.get('x-switchyard-attempts'), '1', 'passing over an ineligible cluster is not an attempt')
  assert.equal(chatCompletions(up.A).length, seenByA, 'the broken endpoint got the chain request')
  // Without a fallback, the only endpoint still serves (panic mode) rather than nothing.
  const alone = await chat(port, { headers: { 'x-case': 'alone' } })
  assert.equal(alone.who, 'A', show(alone))
})

test('panic_threshold: below it, traffic spreads over all endpoints instead of piling onto the last healthy one', async (t) => {
  const { port, up, endpoint } = await rig(t, ['A', 'B', 'C'], (u) => `
routes:
  - name: main
    rules:
      - { match: { headers: [{ name: x-case, exact: strict }] }, cluster: strict }
      - { match: { headers: [{ name: x-case, exact: panicky }] }, cluster: panicky }
clusters:
  - name: strict
    provider: openai
    outlier_detection: { consecutive_5xx: 1, base_ejection_time: 30s, max_ejection_percent: 100 }
    endpoints: [{ url: "${u.A.url}" }, { url: "${u.B.url}" }, { url: "${u.C.url}" }]
  - name: panicky
    provider: openai
    panic_threshold: 50
    outlier_detection: { consecutive_5xx: 1, base_ejection_time: 30s, max_ejection_percent: 100 }
    endpoints: [{ url: "${u.A.url}" }, { url: "${u.B.url}" }, { url: "${u.C.url}" }]
`)
  // Eject A and B in both clusters (round robin: A, B, C); C stays eligible: 33 % healthy.
  for (const cluster of ['strict', 'panicky']) {
    up.A.failNext('500')
    up.B.failNext('500')
    for (let i = 0; i < 3; i++) await chat(port, { headers: { 'x-case': cluster } })
    assert.deepEqual([(await endpoint(cluster, up.A.url)).reasons, (await endpoint(cluster, up.B.url)).reasons, (await endpoint(cluster, up.C.url)).reasons], [['ejected'], ['ejected'], []], cluster)
  }
  const who = async (cluster: string) => {
    const seen: Record<string, number> = {}
    for (let i = 0; i < 12; i++) {
      const r = await chat(port, { headers: { 'x-case': cluster } })
      seen[r.who ?? '?'] = (seen[r.who ?? '?'] ?? 0) + 1
    }
    return seen
  }
  assert.deepEqual(await who('strict'), { C: 12 })
  const spread = await who('panicky')
  assert.ok(Object.keys(spread).length === 3 && spread.A >= 3 && spread.B >= 3, `below the 50 % panic threshold all three should share: ${JSON.stringify(spread)}`)
})
