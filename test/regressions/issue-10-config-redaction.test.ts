/**
 * Issue 10, item 7: a literal credential in a headers filter and the userinfo of an endpoint URL
 * never show — not in /config, /clusters, `switchyard explain`, the access log, response headers,
 * client error messages, nor anything the gateway prints. The URL's credentials still reach the
 * upstream, as `authorization: Basic …`.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { BIN, eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

const FILTER_SECRET = 'literal-secret-123'
const URL_PASSWORD = 'pw-secret-456'
const BASIC = Buffer.from(`user:${URL_PASSWORD}`).toString('base64')
const SECRETS = [FILTER_SECRET, URL_PASSWORD, BASIC]

let up: Upstream
let gw: GatewayProcess
let base: string
let upUrl: string
let downUrl: string

const withUserinfo = (url: string) => url.replace('http://', `http://user:${URL_PASSWORD}@`)
const assertNoSecret = (what: string, text: string) => {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${what} shows a secret (${s}):\n${text}`)
}

before(async () => {
  up = await startOpenAIUpstream('up')
  const closed = await freePort()
  const port = await freePort()
  upUrl = up.url.replace('http://', 'http://[redacted]@')
  downUrl = `http://[redacted]@127.0.0.1:${closed}/v1`
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [auth-tag] }]
routes:
  - name: main
    rules:
      - { match: { model: { exact: down } }, cluster: down }
      - { cluster: up, retry_policy: { num_retries: 1 } }
clusters:
  - name: up
    provider: openai
    endpoints: [{ url: "${withUserinfo(up.url)}" }]
  - name: down
    provider: openai
    endpoints: [{ url: "${withUserinfo(`http://127.0.0.1:${closed}/v1`)}" }]
    health_check: { interval: 50ms, jitter: 5ms, timeout: 200ms, unhealthy_threshold: 1, path: /health }
filters:
  - name: auth-tag
    type: headers
    config:
      request:
        set: [{ name: authorization, value: "Bearer ${FILTER_SECRET}" }]
`, { env: { SWITCHYARD_ACCESS_LOG: '1' } })
  base = `http://127.0.0.1:${port}`
})

after(async () => {
  await gw?.stop()
  await up?.close()
})

test('/config masks the literal header-filter credential and the URL userinfo', async () => {
  const text = await (await fetch(`${gw.admin}/config`)).text()
  assertNoSecret('/config', text)
  const cfg = JSON.parse(text).config
  assert.deepStrictEqual(cfg.filters[0].config.request.set, [{ name: 'authorization', value: '[redacted]' }])
  assert.deepStrictEqual(cfg.clusters.map((c: any) => c.endpoints[0].url), [upUrl, downUrl])
})

test('/clusters shows endpoints by their redacted URL', async () => {
  // Wait for the failing health check, so its state (and error) is part of the output too.
  await eventually(async () => (await (await fetch(`${gw.admin}/clusters`)).text()).includes('unhealthy'), undefined, 'the down endpoint to be unhealthy')
  const text = await (await fetch(`${gw.admin}/clusters`)).text()
  assertNoSecret('/clusters', text)
  const clusters = JSON.parse(text)
  assert.deepStrictEqual([clusters.up.endpoints[0].url, clusters.down.endpoints[0].url], [upUrl, downUrl])
})

test('the URL credentials reach the upstream as Basic auth; the client sees no secret', async () => {
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'caller-key', maxRetries: 0 })
  const { data, response } = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }).withResponse()
  assert.equal(data.object, 'chat.completion')
  assert.equal(up.requests.at(-1)!.headers.authorization, `Basic ${BASIC}`)
  assert.equal(response.headers.get('x-switchyard-endpoint'), '0') // who answered: the endpoint's name, never its URL
  assertNoSecret('response headers', JSON.stringify([...response.headers]))
  assertNoSecret('response body', JSON.stringify(data))

  const failed = await client.chat.completions.create({ model: 'down', messages: [{ role: 'user', content: 'hi' }] }).then(
    () => assert.fail('the down cluster answered'),
    (e: unknown) => e,
  )
  assert.ok(failed instanceof OpenAI.APIError, String(failed))
  assertNoSecret('error response', JSON.stringify({ message: failed.message, error: failed.error, headers: failed.headers }))
})

test('switchyard explain shows the redacted URL', () => {
  const r = spawnSync(process.execPath, [BIN, 'explain', '-c', gw.configPath, '--model', 'gpt-test'], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assertNoSecret('explain', r.stdout + r.stderr)
  assert.ok(r.stdout.includes(upUrl), r.stdout)
})

test('nothing the gateway printed (access log, health checks) shows a secret', async () => {
  await eventually(() => / access .*cluster=up /.test(gw.output()), undefined, 'an access log line')
  const out = gw.output()
  assert.ok(out.includes(`endpoint_url=${upUrl}`), out)
  assertNoSecret('gateway output', out)
})
