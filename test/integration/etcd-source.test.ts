/**
 * The etcd ConfigSource in-process against a real etcd: what load() returns (one revision, the
 * version rules), how watch() coalesces bursts and survives a compacted start revision, how
 * diagnostics map back to the stored values, and etcd auth.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { compileConfig, formatDiagnostic } from '../../src/compiler/index.js'
import { createEtcdClient } from '../../src/control/sources/etcd-client.js'
import { createEtcdSource, type EtcdSource } from '../../src/control/sources/etcd.js'
import { eventually } from '../support/gateway-process.js'
import { startEtcd, type EtcdServer } from '../support/etcd-server.js'

let etcd: EtcdServer
const sources: EtcdSource[] = []

before(async () => {
  etcd = await startEtcd()
})

after(async () => {
  await Promise.all(sources.map((s) => s.close()))
  await etcd?.close()
})

function source(prefix: string, extra: { username?: string; password?: string } = {}): EtcdSource {
  const s = createEtcdSource({ client: createEtcdClient({ endpoints: [etcd.url], callTimeoutMs: 2000, ...extra }), endpoints: [etcd.url], prefix, connectTimeoutMs: 1000 })
  sources.push(s)
  return s
}

const cluster = (name: string, port = 9) => `name: ${name}\nprovider: openai\nendpoints:\n  - url: http://127.0.0.1:${port}/v1\n`

async function compile(s: EtcdSource) {
  const { sources: texts, version } = await s.load()
  const r = compileConfig(texts, { source: s.description, ...(version !== undefined && { version }) })
  return { version, diagnostics: r.ok ? [] : r.diagnostics.map((d) => formatDiagnostic(s.mapDiagnostic(d))), ir: r.ok ? r.ir : undefined }
}

test('load: one object per key, version = revision of the last change under the prefix (deletes included, other prefixes ignored)', async () => {
  const p = '/t/version/'
  await etcd.client.put(`${p}clusters/a`).value(cluster('a'))
  const put = await etcd.client.put(`${p}clusters/b`).value(cluster('b'))
  await etcd.client.put(`${p}notes/readme`).value('not config: ignored')
  const s = source(p.slice(0, -1)) // the trailing slash is added
  const ir = (await compile(s)).ir!
  assert.deepEqual(ir.clusters.map((c) => c.name), ['a', 'b'])
  const afterNotes = (await s.load()).version
  assert.equal(Number(afterNotes), Number(put.header.revision) + 1, 'the ignored key is still a change under the prefix')

  await etcd.client.put('/t/elsewhere/x').value('1')
  assert.equal((await s.load()).version, afterNotes, 'writes outside the prefix do not change the version')

  const del = await etcd.client.delete().key(`${p}clusters/a`)
  await etcd.client.put('/t/elsewhere/y').value('2')
  await etcd.client.put('/t/elsewhere/z').value('3')
  assert.equal((await s.load()).version, del.header.revision, 'a delete is a change: its revision is the version')
  // A second source (another gateway) starting now agrees.
  assert.equal((await source(p).load()).version, del.header.revision)
})

test('watch: a burst of writes makes a few reloads, not one per write; the last state wins', async () => {
  const p = '/t/burst/'
  await etcd.client.put(`${p}clusters/a`).value(cluster('a', 1))
  const s = source(p)
  await s.load()
  let calls = 0
  s.watch(() => calls++)
  await Promise.all(Array.from({ length: 39 }, (_, i) => etcd.client.put(`${p}clusters/a`).value(cluster('a', i + 2))))
  const final = await etcd.client.get(`${p}clusters/a`).string()
  await eventually(async () => {
    const { sources: [text] } = await s.load()
    return text.text.includes(final!.split('\n')[3].trim())
  }, undefined, 'the last write')
  // The watch stream may lag the direct read on a loaded machine: wait for it, then for stragglers.
  await eventually(() => calls >= 1, undefined, 'the watch to report the burst')
  // An upper bound (at most 10 reloads): a fixed wait for stragglers, which a slow box can only reduce.
  await new Promise((r) => setTimeout(r, 200))
  assert.ok(calls >= 1 && calls <= 10, `${calls} reloads for 39 writes`)
})

test('watch from a compacted revision: the source restarts its watch and asks for a resync', async () => {
  const p = '/t/compact/'
  await etcd.client.put(`${p}clusters/a`).value(cluster('a', 1))
  const s = source(p)
  const first = await s.load()
  await etcd.client.put(`${p}clusters/a`).value(cluster('a', 2))
  const last = await etcd.client.put(`${p}clusters/a`).value(cluster('a', 3))
  await etcd.client.kv.compact({ revision: last.header.revision, physical: true })
  let calls = 0
  s.watch(() => calls++) // resumes from first's revision + 1: compacted
  await eventually(() => calls > 0, undefined, 'a resync after the compacted watch')
  const now = await compile(s)
  assert.notEqual(now.version, first.version)
  assert.equal(now.ir?.clusters[0].endpoints[0].url, 'http://127.0.0.1:3/v1')
  // …and the new watch works.
  const before = calls
  await etcd.client.put(`${p}clusters/a`).value(cluster('a', 4))
  await eventually(() => calls > before, undefined, 'a change seen by the restarted watch')
})

test('diagnostics point at the stored value: key:line:col, paths inside the object, cross-key citations', async () => {
  const p = '/t/diag/'
  await etcd.client.put(`${p}listeners/api`).value('name: api\nport: 8080\nroute_table: main\n')
  await etcd.client.put(`${p}routes/main`).value('name: main\nrules:\n  - match: { path: { prefix: / } }\n    cluster: nope\n')
  await etcd.client.put(`${p}clusters/a`).value(cluster('a'))
  await etcd.client.put(`${p}clusters/a2`).value('# same name as clusters/a\n' + cluster('a'))
  await etcd.client.put(`${p}admin`).value('port: 99999\n')
  const { diagnostics } = await compile(source(p))
  assert.deepEqual(diagnostics, [`${p}admin:1:7: port: must be <= 65535`])
  await etcd.client.put(`${p}admin`).value('port: 0\n')
  assert.deepEqual((await compile(source(p))).diagnostics, [
    `${p}clusters/a2:2:7: name: duplicate cluster 'a' (first defined at ${p}clusters/a:1:1)`,
    `${p}routes/main:4:14: rules[0].cluster: unknown cluster 'nope' (known: a)`,
  ])
})

test('etcd auth: user and password from options; without them the read is refused', async () => {
  const ctl = (...args: string[]) => {
    const r = spawnSync('etcdctl', ['--endpoints', etcd.url, ...args], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } })
    assert.equal(r.status, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`)
  }
  const p = '/t/auth/'
  await etcd.client.put(`${p}clusters/a`).value(cluster('a'))
  ctl('user', 'add', 'root:rootpw')
  ctl('user', 'add', 'gw:s3cret')
  ctl('role', 'add', 'reader')
  ctl('role', 'grant-permission', 'reader', '--prefix=true', 'read', p)
  ctl('user', 'grant-role', 'gw', 'reader')
  ctl('auth', 'enable')
  try {
    const ok = await compile(source(p, { username: 'gw', password: 's3cret' }))
    assert.deepEqual(ok.ir?.clusters.map((c) => c.name), ['a'])
    await assert.rejects(source(p).load(), /cannot read etcd .*(permission|user name is empty|auth)/i)
  } finally {
    ctl('--user', 'root:rootpw', 'auth', 'disable')
  }
})
