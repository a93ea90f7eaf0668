/**
 * API keys through etcd: `switchyard keys create --etcd` writes one key object that a running
 * gateway (serving the same prefix) accepts, and `keys revoke --etcd` is refused within a second
 * of the command finishing. Also `keys list` shows no hash. Two gateway processes serve the prefix
 * (one listener port through SO_REUSEPORT, each its own admin port): a revocation and a tenant
 * change reach both within a second.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent } from 'undici'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { runCli, startEtcd, startEtcdGateway, type EtcdGateway, type EtcdServer } from '../support/etcd-server.js'

let etcd: EtcdServer
let up: Upstream
let gw: EtcdGateway
let gw2: EtcdGateway
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
  const admin2 = await freePort()
  const env = { SWITCHYARD_ACCESS_LOG: '1' }
  ;[gw, gw2] = await Promise.all([
    startEtcdGateway(['--etcd', etcd.url, '--prefix', PREFIX, '--workers', '1'], { adminPort, env }),
    startEtcdGateway(['--etcd', etcd.url, '--prefix', PREFIX, '--workers', '1', '--admin-port', String(admin2)], { adminPort: admin2, env }),
  ])
})

after(async () => {
  const [code, code2] = await Promise.all([gw?.stop(), gw2?.stop()])
  await up?.close()
  await etcd?.close()
  assert.equal(code, 0, `gateway exit code; output:\n${gw?.output()}`)
  assert.equal(code2, 0, `second gateway exit code; output:\n${gw2?.output()}`)
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
  await eventually(async () => chat(key).then(() => true, () => false), undefined, 'the new key to be accepted')

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
  }, undefined, 'the revoked key to be refused')
  assert.ok(refusedAt - t0 < 1000, `refused ${Math.round(refusedAt - t0)} ms after revoke returned`)
})

/**
 * `n` calls, each on a new connection (a new source port, so the kernel's SO_REUSEPORT hash
 * spreads them over both processes): how many were served, and how the others were refused.
 */
async function spread(key: string, n: number, model = 'gpt-4o-mini'): Promise<{ served: number; refused: unknown[] }> {
  const results = await Promise.all(Array.from({ length: n }, async () => {
    const dispatcher = new Agent({ pipelining: 0 })
    try {
      await new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: key, maxRetries: 0, fetchOptions: { dispatcher } as any })
        .chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })
      return undefined
    } catch (e) {
      return e
    } finally {
      await dispatcher.close()
    }
  }))
  const refused = results.filter((r) => r !== undefined)
  return { served: n - refused.length, refused }
}

/** Access-log lines with `status` a gateway wrote after `mark` characters of its output. */
const answered = (g: EtcdGateway, mark: number, status: number) => g.output().slice(mark).split('\n').filter((l) => / access /.test(l) && l.includes(` status=${status} `)).length

/** Polls until `refusedNow` holds for a round of calls, and returns the ms since `t0`. */
async function liveAfter(t0: number, refusedNow: () => Promise<boolean>, what: string): Promise<number> {
  let at = 0
  await eventually(async () => {
    const ok = await refusedNow()
    if (ok) at = performance.now()
    return ok
  }, undefined, what)
  return at - t0
}

test('two gateways on one prefix: a revocation and a tenant change through etcd are live on both within a second', async (t) => {
  const created = await runCli(['keys', 'create', '--tenant', 'free', '--id', 'shared-key', '--etcd', etcd.url, '--prefix', PREFIX])
  assert.equal(created.code, 0, created.stderr)
  const key = created.stdout.trim()
  await eventually(async () => (await spread(key, 4)).served === 4, undefined, 'the new key accepted by both')
  // Both processes answer on the shared port.
  const m1 = gw.output().length
  const m2 = gw2.output().length
  assert.equal((await spread(key, 24, 'gpt-4o')).served, 24)
  assert.ok(answered(gw, m1, 200) > 0 && answered(gw2, m2, 200) > 0, `served ${answered(gw, m1, 200)} + ${answered(gw2, m2, 200)}: one process got no connection`)

  // A tenant change: free may use gpt-4o-mini only (403 for gpt-4o), on both processes.
  const t0 = performance.now()
  await etcd.client.put(`${PREFIX}tenants/free`).value('name: free\nmodels: [gpt-4o-mini]\n')
  const tenantMs = await liveAfter(t0, async () => {
    const r = await spread(key, 6, 'gpt-4o')
    return r.served === 0 && r.refused.every((e) => e instanceof OpenAI.PermissionDeniedError)
  }, 'gpt-4o to be forbidden')
  assert.ok(tenantMs < 1000, `tenant change live after ${Math.round(tenantMs)} ms`)
  const n1 = gw.output().length
  const n2 = gw2.output().length
  const after = await spread(key, 24, 'gpt-4o')
  assert.equal(after.served, 0)
  assert.ok(answered(gw, n1, 403) > 0 && answered(gw2, n2, 403) > 0, `403s: ${answered(gw, n1, 403)} + ${answered(gw2, n2, 403)}`)
  assert.equal((await spread(key, 4)).served, 4, 'gpt-4o-mini still allowed')

  // A revocation, on both processes.
  const revoked = await runCli(['keys', 'revoke', 'shared-key', '--etcd', etcd.url, '--prefix', PREFIX])
  assert.equal(revoked.code, 0, revoked.stderr)
  const t1 = performance.now()
  const revokeMs = await liveAfter(t1, async () => {
    const r = await spread(key, 6)
    return r.served === 0 && r.refused.every((e) => e instanceof OpenAI.AuthenticationError)
  }, 'the revoked key to be refused')
  assert.ok(revokeMs < 1000, `revocation live after ${Math.round(revokeMs)} ms`)
  const r1 = gw.output().length
  const r2 = gw2.output().length
  assert.equal((await spread(key, 24)).served, 0)
  assert.ok(answered(gw, r1, 401) > 0 && answered(gw2, r2, 401) > 0, `401s: ${answered(gw, r1, 401)} + ${answered(gw2, r2, 401)}`)
  for (const g of [gw, gw2]) {
    const listed = (await (await fetch(`${g.admin}/keys`)).json()) as { keys: { id: string; state: string }[] }
    assert.equal(listed.keys.find((k) => k.id === 'shared-key')?.state, 'disabled', g.admin)
  }
  t.diagnostic(`tenant change live on both after ${Math.round(tenantMs)} ms, revocation after ${Math.round(revokeMs)} ms`)
  await etcd.client.put(`${PREFIX}tenants/free`).value('name: free\n')
})
