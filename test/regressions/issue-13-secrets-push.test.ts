/**
 * Issue 13, secrets: `config push` (and `diff`) refused configs whose `${env:…}` values were not
 * set where push ran, although docs/config-center.md says references are resolved on each gateway
 * host. Now push never needs production secrets locally: the references go to etcd as written, a
 * gateway host with the variable set serves the resolved value, and one without it fails fast,
 * naming the reference at key:line:col.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { assertNoTrace } from '../support/run-cli.js'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { freePort } from '../support/ports.js'
import { startEtcd, startEtcdGateway, type EtcdServer } from '../support/etcd-server.js'
import { switchyard, tempDir } from '../support/secrets-cli.js'

const PREFIX = '/switchyard/issue-13-secrets/'
const KEY = 'sk-prod-only-on-the-gateway-host'
let etcd: EtcdServer
let up: Upstream
let dir: string
let port: number
let adminPort: number

before(async () => {
  etcd = await startEtcd()
  up = await startOpenAIUpstream('prod')
  port = await freePort()
  adminPort = await freePort()
  dir = tempDir({
    'gateway.yaml': `admin: { port: ${adminPort} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
routes:
  - name: main
    rules: [{ cluster: openai }]
clusters:
  - name: openai
    provider: openai
    endpoints:
      - url: "${up.url}"
        api_key: "\${env:SY13_PROD_KEY}"
`,
  })
})

after(async () => {
  await up?.close()
  await etcd?.close()
})

const etcdArgs = () => ['--etcd', etcd.url, '--prefix', PREFIX]

test('config push and diff work where the referenced variables are not set, and store the references as written', async () => {
  const pushed = await switchyard(['config', 'push', 'gateway.yaml', ...etcdArgs()], { cwd: dir })
  assertNoTrace(pushed.stderr)
  assert.equal(pushed.code, 0, pushed.stderr)
  assert.match(pushed.stdout, /pushed at etcd revision \d+: 4 added, 0 changed, 0 deleted/)
  const stored = (await etcd.client.get(`${PREFIX}clusters/openai`).string())!
  assert.match(stored, /api_key: \$\{env:SY13_PROD_KEY\}/)
  const diff = await switchyard(['config', 'diff', 'gateway.yaml', ...etcdArgs()], { cwd: dir })
  assert.equal(diff.code, 0, diff.stderr)
  assert.match(diff.stdout, /up to date/)
})

test('a gateway host without the variable fails fast, naming the reference at key:line:col', async () => {
  const r = await switchyard(['run', ...etcdArgs(), '--workers', '1'], { cwd: dir, timeoutMs: 10_000 })
  assertNoTrace(r.stderr)
  assert.equal(r.code, 1, r.stdout + r.stderr)
  assert.deepStrictEqual(r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('{')), [
    `${PREFIX}clusters/openai:5:14: endpoints[0].api_key: \${env:SY13_PROD_KEY} is not set`,
    'switchyard: invalid configuration (1 error)',
  ])
})

test('a gateway host with the variable set resolves it and sends it upstream', async (t) => {
  const gw = await startEtcdGateway([...etcdArgs(), '--workers', '1'], { adminPort, env: { SY13_PROD_KEY: KEY } })
  t.after(() => gw.stop())
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'caller-key', maxRetries: 0 })
  const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
  assert.ok(res.choices[0].message.content)
  assert.equal(up.requests.at(-1)!.headers.authorization, `Bearer ${KEY}`)
})
