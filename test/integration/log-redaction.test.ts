/**
 * Issue 15, redaction everywhere: known secrets are sent through every path a log line could pick
 * them up on — caller credentials in `authorization` / `x-api-key` / `api-key` / cookies (a good
 * key and refused ones), `?key=` in the caller's query and in an endpoint URL, an endpoint key an
 * upstream echoes back in its errors, a reload with a bad config holding a new secret, admin calls
 * with the token — with debug logs and the access log on, in JSON, and every request traced to an
 * in-test OTLP receiver. Then the whole output of the process, its /metrics and every span export
 * it sent are searched for each secret (plain, URL- and base64-encoded).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { createKeyRecord } from '../../src/shared/key-records.js'
import { receive, startHttpServer, type LocalHttpServer } from '../support/http-server.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js'

const acme = createKeyRecord({ tenant: 'acme', id: 'acme-key' }, Date.now())
const SECRETS = {
  upstreamKey: 'sk-upstream-secret-0a1b2c3d',
  urlKey: 'url-query-secret-4e5f6a7b',
  adminToken: 'admin-token-secret-8c9d0e1f',
  callerKey: acme.key,
  refusedKey: 'sk-refused-caller-secret-2a3b',
  refusedKeyFormat: `${acme.key.slice(0, -6)}zzzzzz`,
  cookie: 'cookie-secret-4c5d6e7f',
  callerQuery: 'caller-query-secret-8a9b',
  reloadSecret: 'sk-reload-only-secret-0c1d',
}
const forms = (s: string) => [s, encodeURIComponent(s), Buffer.from(s).toString('base64')]

let echo: LocalHttpServer
let otlp: OtlpReceiver
let gw: GatewayProcess
let port: number
let config: (admin: number) => string

before(async () => {
  // An upstream that repeats every credential it got in its error answers, as some providers do.
  echo = await startHttpServer((req, res) => receive(req, () => {
    const said = `bad key '${req.headers.authorization ?? ''}' for ${req.url}`
    res.writeHead(401, { 'content-type': 'application/json', 'x-echo': said }).end(JSON.stringify({ error: { message: said, type: 'invalid_request_error', code: 'invalid_api_key' } }))
  }))
  port = await freePort()
  otlp = await startOtlpReceiver()
  config = (admin) => `
admin: { port: ${admin}, token: "\${env:RED_ADMIN}" }
log: { level: debug, format: json }
telemetry: { tracing: { endpoint: "${otlp.url}", batch: { interval: 50ms } } }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [keys], access_log: true }]
filters: [{ name: keys, type: api_key }]
tenants: [{ name: acme }]
keys: [{ id: ${acme.record.id}, tenant: acme, hash: "${acme.record.hash}" }]
routes:
  - name: main
    rules:
      - { name: by-query, match: { model: { exact: by-query } }, cluster: by-query }
      - { name: echo, cluster: echo, retry_policy: { num_retries: 1, retry_on: [5xx, reset] } }
clusters:
  - { name: echo, provider: openai, endpoints: [{ url: "${echo.origin}/v1", api_key: "\${env:RED_UPSTREAM}" }] }
  - { name: by-query, provider: openai, endpoints: [{ url: "${echo.origin}/v1?key=\${env:RED_URL_KEY}" }] }
`
  gw = await startGateway(config, { env: { RED_ADMIN: SECRETS.adminToken, RED_UPSTREAM: SECRETS.upstreamKey, RED_URL_KEY: SECRETS.urlKey } })
})

after(async () => {
  await gw?.stop()
  await Promise.all([echo?.close(), otlp?.close()])
})

test('secrets sent through every path reach no log line, no metric and no span', async () => {
  const base = `http://127.0.0.1:${port}`
  const body = JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] })
  // 1. The official client with a good key, its key in the query too; the upstream refuses and echoes the endpoint key.
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: SECRETS.callerKey, maxRetries: 0, defaultQuery: { key: SECRETS.callerQuery } })
  for (const model of ['gpt-x', 'by-query']) {
    const e = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).then(() => undefined, (x: unknown) => x)
    assert.ok(e instanceof OpenAI.APIError && e.status === 401, String(e))
  }
  // 2. Refused and oddly placed credentials, a cookie, a query key.
  const sends: Record<string, string>[] = [
    { authorization: `Bearer ${SECRETS.refusedKey}` },
    { authorization: `Bearer ${SECRETS.refusedKeyFormat}` },
    { 'x-api-key': SECRETS.refusedKey },
    { 'api-key': SECRETS.refusedKey },
    { 'x-api-key': SECRETS.callerKey, cookie: `session=${SECRETS.cookie}` },
  ]
  for (const h of sends) {
    const r = await fetch(`${base}/v1/chat/completions?key=${SECRETS.callerQuery}&api_key=${SECRETS.refusedKey}`, { method: 'POST', headers: { 'content-type': 'application/json', ...h }, body })
    await r.arrayBuffer()
  }
  // 3. The admin API with the token, in the header and (wrongly) in the query.
  await (await fetch(`${gw.admin}/config?token=${SECRETS.adminToken}`, { headers: { authorization: `Bearer ${SECRETS.adminToken}` } })).arrayBuffer()
  await (await fetch(`${gw.admin}/keys`, { headers: { authorization: `Bearer ${SECRETS.refusedKey}` } })).arrayBuffer()
  // 4. A reload with a bad config that holds a new literal secret: rejected, its errors logged.
  const good = gw.output().length
  gw.writeConfig(config(gw.adminPort).replace('cluster: echo, retry_policy', 'cluster: missing, retry_policy').replace(`api_key: "\${env:RED_UPSTREAM}"`, `api_key: "${SECRETS.reloadSecret}"`))
  await eventually(() => gw.output().slice(good).includes('config rejected'), undefined, 'the rejected reload')
  const metrics = await (await fetch(`${gw.admin}/metrics`, { headers: { authorization: `Bearer ${SECRETS.adminToken}` } })).text()
  await eventually(() => gw.output().split('\n').filter((l) => l.includes('"log":"access"')).length >= 7, undefined, 'every access record')

  // Stopping drains the workers, which flushes their span exports.
  await otlp.waitFor((s) => s.filter((x) => x.kind === 2).length >= 7, 10_000, 'the server spans of the api requests')
  assert.equal(await gw.stop(), 0)
  const spans = otlp.rawBodies.join('\n')
  const out = gw.output()
  // The paths were taken: refusals were logged at debug, upstream errors answered, the query key masked.
  assert.match(out, /"msg":"authentication refused"/)
  assert.match(out, /"endpoint_url":"[^"]*\?key=\[redacted\]"/)
  assert.match(metrics, /switchyard_requests_total\{/)
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const form of forms(secret)) {
      assert.ok(!out.includes(form), `the log holds ${name} (${form}):\n${out.split('\n').filter((l) => l.includes(form)).join('\n')}`)
      assert.ok(!metrics.includes(form), `/metrics holds ${name} (${form})`)
      assert.ok(!spans.includes(form), `an exported span holds ${name} (${form})`)
    }
  }
})
