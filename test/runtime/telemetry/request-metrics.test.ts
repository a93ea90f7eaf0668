/** The worker's recorder, driven through in-process dispatch on the mock provider. */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig } from '../../../src/compiler/index.js'
import { buildSnapshot, releaseSnapshot } from '../../../src/runtime/build/snapshot.js'
import { createStores } from '../../../src/runtime/stores.js'
import { dispatch } from '../../../src/runtime/http/dispatch.js'
import { RequestMetrics } from '../../../src/runtime/telemetry/request-metrics.js'
import { NO_ATTEMPT_OBSERVERS } from '../../../src/runtime/upstream/attempt-events.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'
import type { Snapshot } from '../../../src/runtime/types.js'

const config = (enabled: boolean) => `
telemetry: { metrics: { enabled: ${enabled} } }
listeners: [{ name: api, port: 18999, route_table: main }]
routes:
  - name: main
    rules:
      - name: ab
        match: { path: { exact: /v1/chat/completions } }
        weighted_clusters: { hash_on: { header: x-user }, clusters: [{ name: m, weight: 1 }] }
clusters: [{ name: m, provider: mock, models: [known-model] }]
`

function built(t: TestContext, enabled: boolean, metrics: RequestMetrics): Snapshot {
  const r = compileConfig([{ name: 'metrics.yaml', text: config(enabled) }], { source: 'test', env: {} })
  if (!r.ok) assert.fail(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join('\n'))
  const stores = createStores()
  const snap = buildSnapshot(r.ir, stores, undefined, metrics.forSnapshot(r.ir))
  t.after(async () => {
    releaseSnapshot(snap, stores)
    await stores.pools.closeAll()
  })
  return snap
}

async function chat(snap: Snapshot, model: string, user: string): Promise<void> {
  const down = new MemoryDownstream()
  const body = Buffer.from(JSON.stringify({ model, messages: [{ role: 'user', content: 'one two three' }] }))
  dispatch(snap, snap.listeners.get(18999)!, { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json', 'x-user': user }, body }, down)
  await down.done
}

test('with metrics disabled nothing is installed on the request path', (t) => {
  const snap = built(t, false, new RequestMetrics(() => 0))
  const l = snap.listeners.get(18999)!
  assert.deepStrictEqual([l.chain.onComplete.length, l.table.routes[0].chain.onComplete.length, l.table.routes[0].attemptObservers ?? NO_ATTEMPT_OBSERVERS], [0, 0, NO_ATTEMPT_OBSERVERS])
})

test('each request counts once, with unknown models folded into other, tokens and sticky keys', async (t) => {
  const metrics = new RequestMetrics(() => 0)
  const snap = built(t, true, metrics)
  await chat(snap, 'known-model', 'u1')
  await chat(snap, 'known-model', 'u1')
  await chat(snap, 'some-model-nobody-configured', 'u2')
  const report = metrics.report()
  const family = (name: string) => report.families.find((f) => f.name === name)!.values
  assert.deepStrictEqual(family('switchyard_requests_total').map((v) => [v.labels.model, v.labels.variant, v.labels.status_class, v.value]), [['known-model', 'm', '2xx', 2], ['other', 'm', '2xx', 1]])
  assert.deepStrictEqual(family('switchyard_upstream_attempts_total').map((v) => [v.labels.outcome, v.value]), [['success', 3]])
  const input = family('gen_ai_client_token_usage').filter((v) => v.metricName === 'gen_ai_client_token_usage_count' && v.labels.gen_ai_token_type === 'input')
  assert.deepStrictEqual(input.map((v) => v.value), [2, 1])
  assert.equal(report.sketches.length, 1)
  assert.equal(report.sketches[0].registers.filter((r) => r > 0).length, 2)
})

test('a reload keeps counting into the same series, and an unmatched request counts under its listener with no route', async (t) => {
  const metrics = new RequestMetrics(() => 0)
  const first = built(t, true, metrics)
  const second = built(t, true, metrics)
  await chat(first, 'known-model', 'u1')
  await chat(second, 'known-model', 'u1')
  const down = new MemoryDownstream()
  dispatch(second, second.listeners.get(18999)!, { method: 'POST', path: '/v1/nowhere', query: '', headers: {}, body: undefined }, down)
  await down.done
  const requests = metrics.report().families.find((f) => f.name === 'switchyard_requests_total')!.values
  assert.deepStrictEqual(requests.map((v) => [v.labels, v.value]), [
    [{ listener: 'api', route: 'ab', cluster: 'm', endpoint: '0', model: 'known-model', status_class: '2xx', protocol: 'openai', variant: 'm' }, 2],
    [{ listener: 'api', status_class: '4xx', protocol: 'openai' }, 1],
  ])
})
