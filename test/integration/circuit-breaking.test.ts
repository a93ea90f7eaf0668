/**
 * Cluster circuit-breaker limits: concurrency overflow fails fast with 503; retries during an
 * outage are bounded by the retry budget.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startOpenAIUpstream } from '../support/openai-upstream.js'
import { startGateway } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

test('requests beyond max_requests fail fast with 503 and go to a fallback when there is one', async (t) => {
  const up = await startOpenAIUpstream('slow')
  const spare = await startOpenAIUpstream('spare')
  t.after(async () => { await up.close(); await spare.close() })
  const port = await freePort()
  const gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - { match: { headers: [{ name: x-fb, present: true }] }, fallback: { clusters: [{ cluster: small }, { cluster: spare }] } }
      - { cluster: small }
clusters:
  - { name: small, provider: openai, circuit_breakers: { max_requests: 2 }, endpoints: [{ url: "${up.url}" }] }
  - { name: spare, provider: openai, endpoints: [{ url: "${spare.url}" }] }
`, { workers: 2 })
  t.after(() => gw.stop())
  const post = (headers: Record<string, string> = {}, model = 'slow-stream') =>
    fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model, stream: true, messages: [] }) })
  // Two long streams occupy the cluster (across both workers: the counter is shared).
  const busy = await Promise.all([post(), post()])
  const t0 = performance.now()
  const third = await post()
  assert.equal(third.status, 503)
  assert.equal((await third.json()).error.code, 'sy_overflow')
  assert.ok(performance.now() - t0 < 200, 'overflow was not fast')
  const viaFallback = await post({ 'x-fb': '1' }, 'gpt-4o')
  assert.equal(viaFallback.status, 200)
  assert.match(await viaFallback.text(), /from spare/)
  for (const r of busy) assert.match(await r.text(), /\[DONE\]/)
  assert.equal((await post({}, 'gpt-4o')).status, 200, 'capacity came back after the streams ended')
})

test('during an outage, retries are bounded by the retry budget', async (t) => {
  const up = await startOpenAIUpstream('down')
  t.after(() => up.close())
  const port = await freePort()
  const gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - cluster: flaky
        retry_policy: { retry_on: [5xx], num_retries: 3, base_interval: 1ms, max_interval: 5ms }
clusters:
  - name: flaky
    provider: openai
    circuit_breakers: { retry_budget: { percent: 20, min_retry_concurrency: 0 } }
    endpoints: [{ url: "${up.url}" }]
`, { workers: 1 })
  t.after(() => gw.stop())
  const clients = 60
  up.failNext(...Array(clients * 4).fill('503'))
  const results = await Promise.all(Array.from({ length: clients }, () =>
    fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', messages: [] }) }).then((r) => r.status)))
  assert.ok(results.every((s) => s === 503), `statuses: ${[...new Set(results)]}`)
  const attempts = up.requests.length
  // Without a budget this would be clients × 4 = 240 upstream calls; the budget allows 20 % more.
  assert.ok(attempts <= clients * 1.2, `upstream saw ${attempts} attempts for ${clients} requests`)
  console.log(`# outage: ${clients} client requests → ${attempts} upstream attempts`)
})
