/**
 * etcd going away: a gateway that cannot reach etcd at start fails clearly (or starts from
 * --etcd-fallback and moves to etcd once it can); a running gateway keeps serving through a 10 s
 * outage, reports it in /ready, and picks up changes made after etcd returns, including when the
 * revisions it missed were compacted away.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { runCli, startEtcd, startEtcdGateway, type EtcdGateway, type EtcdServer } from '../support/etcd-server.js'
import { commitPush, planChanges, readCurrent, readDesired } from '../../src/commands/config.js'

let etcd: EtcdServer
let a: Upstream
let b: Upstream
let port: number
let adminPort: number
let gw: EtcdGateway | undefined
const PREFIX = '/switchyard/prod/'
const agent = new Agent({ connections: 8 })
const dir = mkdtempSync(join(tmpdir(), 'switchyard-etcd-outage-'))

const config = (wa: number, wb: number) => `
admin: { port: ${adminPort} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
routes:
  - name: main
    rules:
      - match: { path: { exact: /v1/chat/completions } }
        weighted_clusters:
          clusters: [{ name: a, weight: ${wa} }, { name: b, weight: ${wb} }]
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${a.url}" }] }
  - { name: b, provider: openai, endpoints: [{ url: "${b.url}" }] }
`

async function push(wa: number, wb: number): Promise<string> {
  const file = join(dir, `w-${wa}-${wb}.yaml`)
  writeFileSync(file, config(wa, wb))
  const desired = (await readDesired(file))!
  const current = await readCurrent(etcd.client, PREFIX)
  const r = await commitPush(etcd.client, planChanges(current, desired), current, PREFIX)
  assert.ok(r.ok, r.message)
  return String(r.revision)
}

const getJson = async (url: string) => {
  const r = await fetch(url)
  return { status: r.status, body: (await r.json()) as any }
}
const live = (c: any, version: string) => c.version === version && c.workers.every((w: any) => w.version === version)

async function who(): Promise<string> {
  const r = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
  })
  const text = await r.body.text()
  if (r.statusCode !== 200) throw new Error(`${r.statusCode} ${text}`)
  return text.includes('Hello from A') ? 'A' : 'B'
}

before(async () => {
  etcd = await startEtcd()
  a = await startOpenAIUpstream('A')
  b = await startOpenAIUpstream('B')
  port = await freePort()
  adminPort = await freePort()
  await push(100, 0)
})

after(async () => {
  await agent.close()
  const code = await gw?.stop()
  await a?.close()
  await b?.close()
  await etcd?.close()
  assert.equal(code, 0, gw?.output())
})

test('etcd unreachable at start: run fails with a clear message; with --etcd-fallback it serves the local config, then etcd', async () => {
  await etcd.stop()
  const t0 = performance.now()
  const r = await runCli(['run', '--etcd', etcd.url, '--prefix', PREFIX, '--workers', '1', '--etcd-timeout', '1s'])
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, new RegExp(`cannot reach etcd ${etcd.url} prefix ${PREFIX}: .*--etcd-fallback`))
  assert.ok(performance.now() - t0 < 5000, 'gives up after --etcd-timeout')

  const fallback = join(dir, 'fallback.yaml')
  writeFileSync(fallback, config(0, 100))
  gw = await startEtcdGateway(['--etcd', etcd.url, '--prefix', PREFIX, '--workers', '1', '--etcd-timeout', '1s', '--etcd-fallback', fallback], { adminPort })
  assert.equal(await who(), 'B', 'the fallback config serves')
  const ready = await getJson(`${gw.admin}/ready`)
  assert.equal(ready.status, 200)
  assert.equal(ready.body.source.ok, false)
  assert.match(ready.body.source.detail, /unreachable .*fallback/)

  await etcd.start()
  await eventually(async () => {
    const c = (await getJson(`${gw!.admin}/config`)).body
    return /^\d+$/.test(c.version) && c.source_health.ok && live(c, c.version) // an etcd revision, not the fallback's content hash
  }, 5000, 'the gateway to move from the fallback to etcd')
  assert.equal(await who(), 'A', 'etcd config (100/0) now serves')
})

test('etcd stopped for 10 s under traffic: zero failed requests, /ready reports it, a change after it returns is picked up', async () => {
  assert.ok(gw, 'needs the gateway from the previous test')
  const admin = gw.admin
  let stop = false
  const failures: string[] = []
  let served = 0
  const loop = async () => {
    while (!stop) {
      try {
        await who()
        served++
      } catch (e) {
        failures.push(String(e))
      }
    }
  }
  const loops = Array.from({ length: 4 }, loop)
  try {
    await etcd.stop()
    const stoppedAt = performance.now()
    await eventually(async () => (await getJson(`${admin}/ready`)).body.source.ok === false, undefined, '/ready to report etcd down')
    while (performance.now() - stoppedAt < 10_000) {
      const r = await getJson(`${admin}/ready`)
      assert.equal(r.status, 200, 'the gateway stays ready on its last good snapshot')
      assert.match(r.body.source.detail, /unreachable since .*last good config; reconnecting/)
      await new Promise((r) => setTimeout(r, 500))
    }
    await etcd.start()
    const backAt = performance.now()
    await eventually(async () => (await getJson(`${admin}/ready`)).body.source.ok === true, undefined, 'the gateway to reconnect')
    const reconnectMs = performance.now() - backAt
    const version = await push(0, 100)
    const pushedAt = performance.now()
    await eventually(async () => live((await getJson(`${admin}/config`)).body, version), undefined, 'the change made after etcd came back')
    console.log(`# etcd outage: reconnected ${reconnectMs.toFixed(0)} ms after restart, change live ${(performance.now() - pushedAt).toFixed(0)} ms after push`)
    await eventually(async () => (await who()) === 'B', undefined, 'traffic to follow the change')
  } finally {
    stop = true
    await Promise.all(loops)
  }
  assert.deepEqual(failures, [], `${failures.length} of ${served} requests failed`)
  assert.ok(served > 100, `only ${served} requests were sent`)
  assert.match(gw.output(), /etcd connection lost/)
  assert.match(gw.output(), /etcd connection restored/)
})

test('revisions missed while away were compacted: the gateway resyncs from the current revision', async () => {
  assert.ok(gw, 'needs the gateway from the first test')
  // Freeze the gateway, and while it cannot see anything: restart etcd (its watch stream dies),
  // change the config and compact history past the revision its watch would resume from.
  gw.child.kill('SIGSTOP')
  let version: string
  try {
    await etcd.stop()
    await etcd.start()
    await push(50, 50) // the revision the frozen watch resumes from…
    version = await push(100, 0)
    await etcd.client.kv.compact({ revision: version, physical: true }) // …is compacted away
  } finally {
    gw.child.kill('SIGCONT')
  }
  await eventually(async () => live((await getJson(`${gw!.admin}/config`)).body, version), undefined, 'the gateway to resync past the compaction')
  assert.equal(await who(), 'A')
  await eventually(() => /etcd watch cancelled by etcd/.test(gw!.output()), undefined, 'the cancelled watch (compacted revision) to be logged')
})
