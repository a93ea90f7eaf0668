/**
 * etcd as the config center, against a real etcd: `config push` reaches a running gateway within
 * a second under traffic, bad values written straight into etcd never go live (and are reported
 * as key:line:col), concurrent pushes cannot clobber each other, two gateways converge, and
 * promoting dev to prod is pull + push.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
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
let gw: EtcdGateway
let port: number
let adminPort: number
const PREFIX = '/switchyard/prod/'
const agent = new Agent({ connections: 16 })
const dir = mkdtempSync(join(tmpdir(), 'switchyard-etcd-cfg-'))

const config = (wa: number, wb: number, extraCluster = '') => `
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
${extraCluster}`

function writeConfig(name: string, text: string): string {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

async function push(file: string, prefix = PREFIX): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(['config', 'push', file, '--etcd', etcd.url, '--prefix', prefix])
}

/** What `config push` does, in-process (no CLI start-up per push): read, plan, one guarded txn. */
async function pushInProcess(file: string): Promise<string> {
  const desired = await readDesired(file)
  assert.ok(desired, `${file} is invalid`)
  const current = await readCurrent(etcd.client, PREFIX)
  const r = await commitPush(etcd.client, planChanges(current, desired), current, PREFIX)
  assert.ok(r.ok, r.message)
  return String(r.revision)
}

const adminConfig = async (admin = gw.admin) => (await fetch(`${admin}/config`)).json() as Promise<any>
const live = (c: any, version: string) => c.version === version && c.workers.every((w: any) => w.version === version)

async function chat(): Promise<{ status: number; text: string }> {
  const r = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
  })
  return { status: r.statusCode, text: await r.body.text() }
}

before(async () => {
  etcd = await startEtcd()
  a = await startOpenAIUpstream('A')
  b = await startOpenAIUpstream('B')
  port = await freePort()
  adminPort = await freePort()
  const first = await push(writeConfig('start.yaml', config(100, 0)))
  assert.equal(first.code, 0, first.stderr)
  gw = await startEtcdGateway(['--etcd', etcd.url, '--prefix', PREFIX, '--workers', '2'], { adminPort })
})

after(async () => {
  await agent.close()
  const code = await gw?.stop()
  await a?.close()
  await b?.close()
  await etcd?.close()
  assert.equal(code, 0, gw?.output())
})

test('the gateway serves the prefix; /config shows the etcd revision as version and /ready the source', async () => {
  const c = await adminConfig()
  const rev = (await etcd.client.getAll().prefix(PREFIX).exec()).kvs.reduce((m, kv) => Math.max(m, Number(kv.mod_revision)), 0)
  assert.equal(c.version, String(rev))
  assert.equal(c.source, `etcd:${etcd.url}${PREFIX}`)
  const ready = await (await fetch(`${gw.admin}/ready`)).json() as any
  assert.equal(ready.source.ok, true, ready.source.detail)
  assert.match((await chat()).text, /Hello from A/)
})

test('push under continuous traffic: each change is live within 1 s, zero failed requests', async () => {
  let stop = false
  const failures: string[] = []
  let served = 0
  const recent: { sentAt: number; who: string }[] = []
  const loop = async () => {
    while (!stop) {
      try {
        const sentAt = performance.now()
        const r = await chat()
        served++
        if (r.status !== 200) failures.push(`${r.status} ${r.text}`)
        else recent.push({ sentAt, who: r.text.includes('Hello from A') ? 'A' : 'B' })
      } catch (e) {
        failures.push(String(e))
      }
    }
  }
  const loops = Array.from({ length: 6 }, loop)
  const sample = async (n: number) => {
    const since = performance.now()
    recent.length = 0
    await eventually(() => recent.filter((r) => r.sentAt >= since).length >= n, undefined, `${n} responses`)
    return recent.filter((r) => r.sentAt >= since).slice(0, n).map((r) => r.who)
  }
  const delays: number[] = []
  const pushAndWait = async (wa: number, wb: number) => {
    const version = await pushInProcess(writeConfig(`w-${wa}-${wb}.yaml`, config(wa, wb)))
    const t0 = performance.now()
    await eventually(async () => live(await adminConfig(), version), 1000, `weights ${wa}/${wb} (revision ${version}) live on every worker within 1 s of the push`)
    delays.push(performance.now() - t0)
  }
  try {
    for (let round = 0; round < 3; round++) {
      await pushAndWait(0, 100)
      assert.ok((await sample(20)).every((x) => x === 'B'), 'after 0/100 every answer comes from B')
      await pushAndWait(100, 0)
      assert.ok((await sample(20)).every((x) => x === 'A'), 'after 100/0 every answer comes from A')
    }
    await pushAndWait(50, 50)
    const mix = await sample(300)
    const share = mix.filter((x) => x === 'A').length / mix.length
    assert.ok(share > 0.35 && share < 0.65, `50/50 split gave A ${(share * 100).toFixed(1)}%`)
  } finally {
    stop = true
    await Promise.all(loops)
  }
  assert.deepEqual(failures, [], `${failures.length} of ${served} requests failed`)
  console.log(`# etcd pushes: ${delays.length}, requests: ${served}, push→live max ${Math.max(...delays).toFixed(0)} ms, mean ${(delays.reduce((s, d) => s + d, 0) / delays.length).toFixed(0)} ms`)
})

test('invalid YAML written straight into etcd never goes live: key:line:col reported, last good serves, next valid write applies', async () => {
  await push(writeConfig('a-only.yaml', config(100, 0)))
  await eventually(async () => JSON.stringify((await adminConfig()).config).includes('"weight":100'), undefined, 'a-only config')
  const good = (await adminConfig()).version
  const key = `${PREFIX}clusters/b`
  // Line 3, column 14: the flow sequence is never closed.
  await etcd.client.put(key).value(`name: b\nprovider: openai\nendpoints: [{ url: "${b.url}" }\n`)
  await eventually(async () => (await adminConfig()).last_error !== null, undefined, 'the bad value to be reported')
  let c = await adminConfig()
  assert.equal(c.version, good, 'a broken state must not go live')
  assert.equal(c.last_error.length, 1, c.last_error.join('\n'))
  assert.match(c.last_error[0], new RegExp(`^${key}:4:1: `))
  assert.match((await chat()).text, /Hello from A/, 'the last good config keeps serving')
  assert.match(gw.output(), new RegExp(`config rejected[^\\n]*\\n[^\\n]*${key}:4:1`))

  // A schema error: the position is the value's own line:col, and the path is inside the object.
  await etcd.client.put(key).value(`name: b\nprovider: openai\nendpoints:\n  - url: "${b.url}"\n    weight: heavy\n`)
  await eventually(async () => (await adminConfig()).last_error?.[0]?.includes('weight') ?? false, undefined, 'the schema error to be reported')
  c = await adminConfig()
  assert.equal(c.version, good)
  assert.deepEqual(c.last_error, [`${key}:5:13: endpoints[0].weight: must be integer`])

  // The next valid write is picked up.
  await etcd.client.put(key).value(JSON.stringify({ name: 'b', provider: 'openai', endpoints: [{ url: b.url }] }, null, 2))
  await eventually(async () => {
    const c = await adminConfig()
    return c.version !== good && c.last_error === null && live(c, c.version)
  }, undefined, 'the valid write to go live')
})

test('concurrent pushes: exactly one wins, the other fails clearly and writes nothing', async () => {
  const one = (await readDesired(writeConfig('one.yaml', config(30, 70))))!
  const two = (await readDesired(writeConfig('two.yaml', config(70, 30, '  - { name: c, provider: openai, endpoints: [{ url: "http://127.0.0.1:9/v1" }] }'))))!
  // Both read the same state, then both commit.
  const client = etcd.client
  const [curOne, curTwo] = await Promise.all([readCurrent(client, PREFIX), readCurrent(client, PREFIX)])
  const results = await Promise.all([
    commitPush(client, planChanges(curOne, one), curOne, PREFIX),
    commitPush(client, planChanges(curTwo, two), curTwo, PREFIX),
  ])
  assert.equal(results.filter((r) => r.ok).length, 1, JSON.stringify(results))
  const lost = results.find((r) => !r.ok)!
  assert.match(lost.message, /changed since it was read at revision \d+ \(now \d+\).*Nothing was written/)
  const winner = results[0].ok ? one : two
  const after = await readCurrent(client, PREFIX)
  assert.deepEqual([...after.objects.keys()].sort(), [...winner.keys()].sort(), 'etcd holds exactly the winner')

  // The same race through the CLI: whatever the interleaving, etcd ends up holding one whole
  // config (never a mix), and a loser says why.
  const rs = await Promise.all([push(join(dir, 'one.yaml')), push(join(dir, 'two.yaml'))])
  assert.ok(rs.some((r) => r.code === 0), rs.map((r) => r.stderr).join('\n'))
  for (const r of rs) if (r.code !== 0) assert.match(r.stderr, /changed since it was read at revision/)
  const final = await readCurrent(client, PREFIX)
  const keys = [...final.objects.keys()].sort().join(',')
  assert.ok(keys === [...one.keys()].sort().join(',') || keys === [...two.keys()].sort().join(','), keys)
})

test('diff shows what a push would change; a removed object is deleted from etcd', async () => {
  const file = writeConfig('diff.yaml', config(100, 0, '  - { name: c, provider: openai, endpoints: [{ url: "http://127.0.0.1:9/v1" }] }'))
  assert.equal((await push(file)).code, 0)
  const smaller = writeConfig('diff2.yaml', config(60, 40))
  const d = await runCli(['config', 'diff', smaller, '--etcd', etcd.url, '--prefix', PREFIX])
  assert.equal(d.code, 0, d.stderr)
  assert.match(d.stdout, new RegExp(`^- ${PREFIX}clusters/c$`, 'm'))
  assert.match(d.stdout, new RegExp(`^~ ${PREFIX}routes/main$`, 'm'))
  assert.match(d.stdout, /^ +- +weight: 100\n +\+ +weight: 60$/m)
  assert.match(d.stdout, /0 added, 1 changed, 1 deleted/)
  assert.equal((await push(smaller)).code, 0)
  assert.equal((await etcd.client.get(`${PREFIX}clusters/c`).string()), null)
  const again = await runCli(['config', 'diff', smaller, '--etcd', etcd.url, '--prefix', PREFIX])
  assert.match(again.stdout, /up to date/)
})

test('push validates locally first, with the same errors as validate', async () => {
  const bad = writeConfig('bad.yaml', config(100, 0).replace('name: b, weight', 'name: nope, weight'))
  const before = (await etcd.client.getAll().prefix(PREFIX).exec()).header.revision
  const r = await push(bad)
  const v = await runCli(['validate', bad])
  assert.equal(r.code, 1)
  assert.equal(v.code, 1)
  assert.ok(r.stderr.startsWith(v.stderr.split('\n')[0]), `push: ${r.stderr}\nvalidate: ${v.stderr}`)
  assert.match(r.stderr, /bad\.yaml:\d+:\d+: .*unknown cluster 'nope'/)
  assert.equal((await etcd.client.getAll().prefix(PREFIX).exec()).header.revision, before, 'nothing written')
})

test('promote dev to prod with pull + push; two gateways on one prefix converge on the same version', async () => {
  const dev = '/switchyard/dev/'
  assert.equal((await push(writeConfig('dev.yaml', config(0, 100)), dev)).code, 0)
  const pulled = join(dir, 'pulled')
  const p = await runCli(['config', 'pull', pulled, '--etcd', etcd.url, '--prefix', dev])
  assert.equal(p.code, 0, p.stderr)
  assert.deepEqual(readdirSync(pulled).sort(), ['admin.yaml', 'clusters', 'listeners', 'routes'])
  assert.equal((await runCli(['validate', pulled])).code, 0)
  const r = await push(pulled)
  assert.equal(r.code, 0, r.stderr)
  const version = /revision (\d+)/.exec(r.stdout)![1]
  await eventually(async () => live(await adminConfig(), version), undefined, 'the promoted config live')
  assert.match((await chat()).text, /Hello from B/)

  // A second gateway on the same prefix (same listener port: SO_REUSEPORT; own admin port).
  const admin2 = await freePort()
  const gw2 = await startEtcdGateway(['--etcd', etcd.url, '--prefix', PREFIX, '--workers', '1', '--admin-port', String(admin2)], { adminPort: admin2 })
  try {
    // Writes elsewhere in etcd (the dev prefix) do not change prod's version.
    await push(writeConfig('dev2.yaml', config(50, 50)), dev)
    const c1 = await adminConfig()
    const c2 = await adminConfig(gw2.admin)
    assert.equal(c2.version, c1.version)
    const r2 = await push(writeConfig('prod3.yaml', config(100, 0)))
    const v2 = /revision (\d+)/.exec(r2.stdout)![1]
    await eventually(async () => live(await adminConfig(), v2) && live(await adminConfig(gw2.admin), v2), undefined, 'both gateways on the new version')
  } finally {
    assert.equal(await gw2.stop(), 0, gw2.output())
  }
})

test('the redis and prices sections round-trip through etcd (push, pull, validate)', async () => {
  const prefix = '/switchyard/limits/'
  const withLimits = `${config(100, 0)}
redis: { url: "redis://127.0.0.1:6379", command_timeout: 50ms }
prices:
  - { model: gpt-4o, input: 2.5, output: 10 }
tenants: [{ name: acme, budget: { day: 5 } }]
`
  const r = await push(writeConfig('limits.yaml', withLimits), prefix)
  assert.equal(r.code, 0, r.stderr)
  const rels = (await etcd.client.getAll().prefix(prefix).keys()).map((k) => k.slice(prefix.length)).sort()
  assert.ok(rels.includes('redis') && rels.includes('prices'), rels.join(','))
  const pulled = join(dir, 'pulled-limits')
  const p = await runCli(['config', 'pull', pulled, '--etcd', etcd.url, '--prefix', prefix])
  assert.equal(p.code, 0, p.stderr)
  assert.ok(readdirSync(pulled).includes('redis.yaml') && readdirSync(pulled).includes('prices.yaml'), readdirSync(pulled).join(','))
  const v = await runCli(['validate', pulled])
  assert.equal(v.code, 0, v.stderr + v.stdout)
})
