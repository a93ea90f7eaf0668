/**
 * API keys through etcd: `switchyard keys create --etcd` writes one key object that a running
 * gateway (serving the same prefix) accepts, and `keys revoke --etcd` is refused within a second
 * of the command finishing. Also `keys list` shows no hash.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { runCli, startEtcd, startEtcdGateway, type EtcdGateway, type EtcdServer } from '../support/etcd-server.js'

let etcd: EtcdServer
let up: Upstream
let gw: EtcdGateway
let port: number
const PREFIX = '/switchyard/keys-test/'

before(async () => {
  etcd = await startEtcd()
  up = await startOpenAIUpstream('upstream-a')
  port = await freePort()
  const adminPort = await freePort()
  const file = join(mkdtempSync(join(tmpdir(), 'switchyard-keys-etcd-')), 'config.yaml')
  writeFileSync(file, `
admin: { port: ${adminPort} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [keys] }
filters:
  - { name: keys, type: api_key }
tenants:
  - { name: free }
routes:
  - { name: main, rules: [{ cluster: a }] }
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${up.url}" }] }
`)
  const pushed = await runCli(['config', 'push', file, '--etcd', etcd.url, '--prefix', PREFIX])
  assert.equal(pushed.code, 0, pushed.stderr)
  gw = await startEtcdGateway(['--etcd', etcd.url, '--prefix', PREFIX, '--workers', '1'], { adminPort })
})

after(async () => {
  const code = await gw?.stop()
  await up?.close()
  await etcd?.close()
  assert.equal(code, 0, `gateway exit code; output:\n${gw?.output()}`)
})

const chat = (key: string) =>
  new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: key, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })

test('keys create --etcd issues a key the gateway accepts; keys revoke --etcd is live within a second', async () => {
  const created = await runCli(['keys', 'create', '--tenant', 'free', '--id', 'etcd-key', '--etcd', etcd.url, '--prefix', PREFIX])
  assert.equal(created.code, 0, created.stderr)
  const key = created.stdout.trim()
  assert.match(key, /^sy-etcd-key_/)
  const stored = (await etcd.client.get(`${PREFIX}keys/etcd-key`).string())!
  assert.ok(!stored.includes(key) && /hash: sha256:[0-9a-f]{64}/.test(stored), stored)
  await eventually(async () => chat(key).then(() => true, () => false), 3000, 'the new key to be accepted')

  const listed = await runCli(['keys', 'list', '--etcd', etcd.url, '--prefix', PREFIX])
  assert.equal(listed.code, 0, listed.stderr)
  assert.match(listed.stdout, /etcd-key\s+free\s+active/)
  assert.ok(!listed.stdout.includes('sha256'))

  const unknown = await runCli(['keys', 'create', '--tenant', 'nobody', '--etcd', etcd.url, '--prefix', PREFIX])
  assert.equal(unknown.code, 1)
  assert.match(unknown.stderr, /unknown tenant 'nobody'/)

  const revoked = await runCli(['keys', 'revoke', 'etcd-key', '--etcd', etcd.url, '--prefix', PREFIX])
  assert.equal(revoked.code, 0, revoked.stderr)
  const t0 = performance.now()
  let refusedAt = 0
  await eventually(async () => {
    const refused = await chat(key).then(() => false, (e) => e instanceof OpenAI.AuthenticationError)
    if (refused) refusedAt = performance.now()
    return refused
  }, 3000, 'the revoked key to be refused')
  assert.ok(refusedAt - t0 < 1000, `refused ${Math.round(refusedAt - t0)} ms after revoke returned`)
})
