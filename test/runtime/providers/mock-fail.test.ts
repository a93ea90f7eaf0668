/**
 * `mock.fail`: the mock provider answers a share of requests with an upstream error (OpenAI's
 * error shape), only those carrying `only_with_header` when it is set — a variant that fails on
 * command, for canary rehearsals (examples/canary.yaml).
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { dispatch } from '../../../src/runtime/http/dispatch.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'
import { builtSnapshot } from '../../support/built-snapshot.js'

function gateway(t: TestContext, fail: string) {
  const snap = builtSnapshot(t, 'mock-fail.yaml', `
admin: { port: 0 }
listeners: [{ name: l, port: 8080, route_table: t }]
routes: [{ name: t, rules: [{ cluster: m }] }]
clusters:
  - { name: m, provider: mock, mock: { reply: fine, fail: ${fail} } }
`)
  const listener = snap.listeners.get(8080)!
  return async (headers: Record<string, string> = {}) => {
    const down = new MemoryDownstream()
    const body = Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }))
    dispatch(snap, listener, { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json', ...headers }, body }, down)
    await down.done
    return { status: down.status, body: down.json() }
  }
}

test('with only_with_header, requests without the header never fail and those with it do', async (t) => {
  const send = gateway(t, '{ status: 502, only_with_header: X-Break }')
  for (let i = 0; i < 20; i++) assert.equal((await send()).status, 200)
  const r = await send({ 'x-break': '1' })
  assert.equal(r.status, 502)
  assert.deepStrictEqual(r.body, { error: { message: 'mock failure (mock.fail, 100% of requests with x-break)', type: 'server_error', param: null, code: 'mock_failure' } })
})

test('percent: about that share fails (503 by default)', async (t) => {
  const send = gateway(t, '{ percent: 20 }')
  const statuses = await Promise.all(Array.from({ length: 2000 }, () => send().then((r) => r.status)))
  const failed = statuses.filter((s) => s === 503).length
  assert.equal(failed + statuses.filter((s) => s === 200).length, 2000)
  assert.ok(failed > 300 && failed < 500, `${failed} of 2000`)
})
