/**
 * Issue 15, logs: a gateway with `log: { format: json }` writes one JSON object per line from
 * every thread; a listener with `access_log: true` writes one access record per request (names,
 * numbers, cost from the price table, bytes, time to first token of a stream), a listener
 * without it none; config changes and admin requests are audit records; a reload changes the
 * level at once, in the workers too. Real process, official openai SDK.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { createKeyRecord } from '../../src/shared/key-records.js'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

const ADMIN_TOKEN = 'admin-token-logs-7c1e9'
const acme = createKeyRecord({ tenant: 'acme', id: 'acme-key' }, Date.now())

let up: Upstream
let gw: GatewayProcess
let ports: { api: number; quiet: number }
let client: OpenAI

const configFor = (level: string) => (admin: number) => `
admin: { port: ${admin}, token: "\${env:LOGS_ADMIN_TOKEN}" }
log: { level: ${level}, format: json }
listeners:
  - { name: api, address: 127.0.0.1, port: ${ports.api}, route_table: main, filters: [keys], access_log: true }
  - { name: quiet, address: 127.0.0.1, port: ${ports.quiet}, route_table: main }
filters: [{ name: keys, type: api_key }]
tenants: [{ name: acme }]
keys: [{ id: ${acme.record.id}, tenant: acme, hash: "${acme.record.hash}" }]
prices: [{ model: gpt-4o-mini, input: 0.15, output: 0.6 }]
routes:
  - name: main
    rules:
      - { name: chat, cluster: up, model_rewrite: gpt-4o-mini }
clusters:
  - { name: up, provider: openai, endpoints: [{ name: primary, url: "${up.url}" }] }
`

/** Every line the gateway wrote, parsed: a line that is not a JSON object fails the test. */
function records(): Record<string, any>[] {
  return gw.output().split('\n').filter((l) => l.trim() !== '').map((l) => {
    try {
      const r = JSON.parse(l)
      assert.equal(typeof r, 'object')
      return r
    } catch {
      assert.fail(`not a JSON log line: ${l}`)
    }
  })
}
const accessOf = (requestId: string) => records().find((r) => r.log === 'access' && r.request_id === requestId)

before(async () => {
  up = await startOpenAIUpstream('up', { usage: () => ({ prompt_tokens: 1000, completion_tokens: 500 }) })
  ports = { api: await freePort(), quiet: await freePort() }
  gw = await startGateway(configFor('info'), { workers: 2, env: { LOGS_ADMIN_TOKEN: ADMIN_TOKEN } })
  client = new OpenAI({ baseURL: `http://127.0.0.1:${ports.api}/v1`, apiKey: acme.key, maxRetries: 0 })
})

after(async () => {
  await gw?.stop()
  await up?.close()
})

test('an answer is one access record: who asked, what was asked and served, who answered, cost, bytes', async () => {
  const res = await fetch(`http://127.0.0.1:${ports.api}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${acme.key}`, 'content-type': 'application/json', 'x-request-id': 'logs-json-1', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }),
  })
  const body = Buffer.from(await res.arrayBuffer())
  assert.equal(res.status, 200)
  await eventually(() => accessOf('logs-json-1') !== undefined, undefined, 'the access record')
  const r = accessOf('logs-json-1')!
  assert.match(r.thread, /^worker-\d+$/) // written by the worker that served it
  assert.equal(r.level_name, 'info')
  assert.ok(!Number.isNaN(Date.parse(r.time)))
  const { time, id, duration_ms, pid, hostname, level, level_name, thread, ...rest } = r
  void time, id, pid, hostname, level, level_name, thread
  assert.ok(duration_ms > 0)
  assert.deepStrictEqual(rest, {
    log: 'access', msg: 'access', request_id: 'logs-json-1', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    method: 'POST', path: '/v1/chat/completions', status: 200, listener: 'api', route: 'chat', tenant: 'acme',
    model: 'fast', served_model: 'gpt-4o-mini', cluster: 'up', endpoint: 'primary', endpoint_url: up.url,
    attempts: 1, ttft_ms: null, input_tokens: 1000, output_tokens: 500,
    // (1000 × 0.15 + 500 × 0.6) per million tokens = 0.00045 → 450,000 nanos
    cost_nanos: 450_000, bytes_in: Number(JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }).length), bytes_out: body.length,
  })
})

test('a stream records its time to first token, below its duration', async () => {
  const { data: stream, response } = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }], stream: true }).withResponse()
  for await (const _ of stream) void _
  const requestId = response.headers.get('x-request-id')!
  await eventually(() => accessOf(requestId) !== undefined, undefined, 'the stream\'s access record')
  const r = accessOf(requestId)!
  assert.equal(r.status, 200)
  assert.equal(typeof r.ttft_ms, 'number')
  assert.ok(r.ttft_ms > 0 && r.ttft_ms <= r.duration_ms, JSON.stringify(r))
  assert.equal(r.output_tokens, 500)
  assert.ok(r.bytes_out > 0)
})

test('a listener without access_log writes no access record', async () => {
  const res = await fetch(`http://127.0.0.1:${ports.quiet}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'logs-quiet-1' }, body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }) })
  assert.equal(res.status, 200)
  await res.arrayBuffer()
  // A later request on the logged listener proves the quiet one had time to write, had it wanted to.
  const after = await fetch(`http://127.0.0.1:${ports.api}/v1/models`, { headers: { authorization: `Bearer ${acme.key}`, 'x-request-id': 'logs-after-quiet' } })
  await after.arrayBuffer()
  await eventually(() => accessOf('logs-after-quiet') !== undefined, undefined, 'the later access record')
  assert.equal(records().filter((r) => r.request_id === 'logs-quiet-1').length, 0)
})

test('the first config is an audit record naming every object it added', () => {
  const change = records().find((r) => r.log === 'audit' && r.msg === 'config change')
  assert.ok(change, 'a config change record')
  assert.equal(change.thread, 'main')
  assert.equal(change.previous_version, null)
  assert.match(change.source, /^file:/)
  for (const id of ['listeners/api', 'listeners/quiet', 'clusters/up', 'routes/main', 'log', 'keys/acme-key']) assert.ok(change.added.includes(id), `${id} in ${change.added}`)
})

test('admin requests are audit records with the caller\'s address, never the token', async () => {
  assert.equal((await fetch(`${gw.admin}/config`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, 200)
  assert.equal((await fetch(`${gw.admin}/config?token=${ADMIN_TOKEN}`, { headers: { authorization: 'Bearer wrong-token' } })).status, 401)
  await eventually(() => records().filter((r) => r.msg === 'admin request' && r.path === '/config').length >= 2, undefined, 'two admin request records')
  const [ok, refused] = records().filter((r) => r.msg === 'admin request' && r.path === '/config')
  assert.deepStrictEqual([ok.log, ok.method, ok.status, ok.peer, ok.authenticated], ['audit', 'GET', 200, '127.0.0.1', true])
  assert.deepStrictEqual([refused.status, refused.authenticated, refused.query], [401, false, 'token=[redacted]'])
  assert.ok(!gw.output().includes(ADMIN_TOKEN), 'the admin token reached the log')
  assert.ok(!gw.output().includes('wrong-token'), 'a presented token reached the log')
  // Probes are not audited (they come every few seconds).
  await fetch(`${gw.admin}/ready`)
  assert.equal(records().filter((r) => r.msg === 'admin request' && r.path === '/ready').length, 0)
})

test('a reload to level debug applies at once in the workers, and is audited as a change of `log`', async () => {
  const refuse = () => fetch(`http://127.0.0.1:${ports.api}/v1/models`, { headers: { authorization: 'Bearer sy-not-a-key' } }).then((r) => r.status)
  const debugLines = () => records().filter((r) => r.msg === 'authentication refused')
  assert.equal(await refuse(), 401)
  const first = records().find((r) => r.log === 'audit' && r.msg === 'config change')!
  gw.writeConfig(configFor('debug')(gw.adminPort))
  await eventually(() => records().some((r) => r.msg === 'config change' && r.version !== first.version), undefined, 'the reload')
  const change = records().filter((r) => r.msg === 'config change').at(-1)!
  assert.deepStrictEqual([change.previous_version, change.modified, change.added, change.removed], [first.version, ['log'], [], []])
  assert.equal(debugLines().length, 0, 'a debug line before the reload')
  await eventually(async () => (await refuse()) === 401 && debugLines().length > 0, undefined, 'a debug line from a worker after the reload')
  assert.match(debugLines()[0].thread, /^worker-\d+$/)
  assert.equal(debugLines()[0].level_name, 'debug')
})
