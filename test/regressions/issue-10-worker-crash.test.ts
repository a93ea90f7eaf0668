/**
 * Issue 10, item 3: an exception that escapes every request boundary ends its worker thread, not
 * the process. Before the fix the dying worker left uWS sockets open, Node aborted the whole
 * process (`uv_loop_close() while having open handles`) and the supervisor never got to replace
 * it. SWITCHYARD_TEST_CRASH_HEADER arms a test-only trigger that throws from a timer.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { eventually, startGateway } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

interface Ready { ready: boolean; workers: { id: number }[] }

test('a crashing worker is replaced while the other keeps serving; the process never exits', async (t) => {
  const port = await freePort()
  const gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes: [{ name: main, rules: [{ cluster: mock }] }]
clusters: [{ name: mock, provider: mock }]
`, { workers: 2, env: { SWITCHYARD_TEST_CRASH_HEADER: 'x-test-crash' } })
  t.after(() => gw.stop())
  const ready = async () => (await (await fetch(`${gw.admin}/ready`)).json()) as Ready
  const before = (await ready()).workers.map((w) => w.id).sort()
  assert.equal(before.length, 2)

  // The crashing request itself may or may not get an answer; the process must outlive it.
  await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-test-crash': '1' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  }).catch(() => undefined)

  await eventually(async () => {
    const r = await ready()
    const ids = r.workers.map((w) => w.id)
    return r.ready && ids.length === 2 && ids.some((id) => !before.includes(id))
  }, undefined, 'a replacement worker to join')
  assert.equal(gw.child.exitCode, null, `the gateway process exited:\n${gw.output()}`)
  assert.match(gw.output(), /worker failed; closing its listeners/)
  assert.match(gw.output(), /worker exited; starting a replacement/)

  // Fresh connections (each may land on either worker) are all served.
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'x', maxRetries: 0 })
  for (let i = 0; i < 20; i++) {
    const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: `n${i}` }] }, { headers: { connection: 'close' } })
    assert.match(r.choices[0].message.content ?? '', /Mock reply/)
  }
})
