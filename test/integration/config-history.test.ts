/**
 * Config history, diff and rollback with real gateway processes: file edits become history
 * entries naming the objects that changed; `config diff --from --to` shows them line by line;
 * an etcd push made with --message carries who and why into every gateway's history and audit
 * line; `config rollback --to <revision>` puts the old objects back through etcd and two gateways
 * on the prefix serve the old behaviour within a second.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { runCli, startEtcd, startEtcdGateway, type EtcdServer } from '../support/etcd-server.js'
import { assertNoTrace } from '../support/run-cli.js'

let a: Upstream
let b: Upstream
let etcd: EtcdServer
const dir = mkdtempSync(join(tmpdir(), 'switchyard-history-'))

before(async () => {
  ;[a, b, etcd] = await Promise.all([startOpenAIUpstream('A'), startOpenAIUpstream('B'), startEtcd()])
})
after(async () => {
  await Promise.all([a?.close(), b?.close(), etcd?.close()])
})

const config = (admin: number, port: number, target: 'a' | 'b', extra = '') => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes: [{ name: main, rules: [{ name: chat, match: { path: { exact: /v1/chat/completions } }, cluster: ${target} }] }]
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${a.url}", api_key: "sk-history-secret-123" }] }
  - { name: b, provider: openai, endpoints: [{ url: "${b.url}" }] }
${extra}`

async function chat(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }) })
  return r.text()
}
const history = async (admin: string) => ((await (await fetch(`${admin}/config/history`)).json()) as any).history as any[]

test('file edits: history names the changed objects; diff shows the lines; rollback prints what to restore', async () => {
  const port = await freePort()
  let gw: GatewayProcess | undefined
  try {
    gw = await startGateway((admin) => config(admin, port, 'a'))
    const first = (await history(gw.admin))[0]
    assert.ok(first.changes.added.includes('clusters/a') && first.changes.added.includes('routes/main'), JSON.stringify(first))
    gw.writeConfig(config(gw.adminPort, port, 'b', 'filters: [{ name: tag, type: headers, config: { response: { add: [{ name: x-tag, value: v2 }] } } }]'))
    await eventually(async () => (await history(gw!.admin)).length === 2, undefined, 'the edit applied')
    const [second] = await history(gw.admin)
    assert.deepEqual(second.changes, { added: ['filters/tag'], removed: [], modified: ['routes/main'] })
    assert.match(await chat(port), /Hello from B/)

    const h = await runCli(['config', 'history', '--admin', gw.admin])
    assert.equal(h.code, 0, h.stderr)
    assert.match(h.stdout, new RegExp(`${second.version} .*\\n\\s+\\+filters/tag ~routes/main`))
    const d = await runCli(['config', 'diff', '--from', first.version, '--to', second.version, '--admin', gw.admin])
    assert.equal(d.code, 0, d.stderr)
    assert.match(d.stdout, /~ routes\/main[\s\S]*- +cluster: a\n[\s\S]*\+ +cluster: b/)
    assert.match(d.stdout, /\+ filters\/tag/)
    assert.ok(!d.stdout.includes('sk-history-secret-123'), 'a literal credential stays masked in diffs')
    const r = await runCli(['config', 'rollback', '--to', first.version, '--admin', gw.admin])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /cluster: a/)
    assert.ok(!r.stdout.includes('sk-history-secret-123'))
    const missing = await runCli(['config', 'diff', '--from', 'nope', '--to', second.version, '--admin', gw.admin])
    assert.equal(missing.code, 1)
    assertNoTrace(missing.stderr)
    assert.match(missing.stderr, /not found/)
  } finally {
    await gw?.stop()
  }
})

test('etcd: --message is in every gateway\'s history; rollback --to a revision restores the old behaviour on two gateways', async () => {
  const prefix = '/switchyard/history/'
  const port = await freePort()
  const [admin1, admin2] = [await freePort(), await freePort()]
  const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name))
  const etcdArgs = ['--etcd', etcd.url, '--prefix', prefix]
  const p1 = await runCli(['config', 'push', file('v1.yaml', config(admin1, port, 'a')), ...etcdArgs, '--message', 'start on A'])
  assert.equal(p1.code, 0, p1.stderr)
  const v1 = /revision (\d+)/.exec(p1.stdout)![1]
  const gw1 = await startEtcdGateway([...etcdArgs, '--workers', '1'], { adminPort: admin1 })
  const gw2 = await startEtcdGateway([...etcdArgs, '--workers', '1', '--admin-port', String(admin2)], { adminPort: admin2 })
  try {
    const p2 = await runCli(['config', 'push', file('v2.yaml', config(admin1, port, 'b')), ...etcdArgs, '--message', 'move to B'])
    assert.equal(p2.code, 0, p2.stderr)
    const v2 = /revision (\d+)/.exec(p2.stdout)![1]
    for (const gw of [gw1, gw2]) await eventually(async () => (await history(gw.admin))[0].version === v2, undefined, 'v2 applied')
    const [latest] = await history(gw2.admin)
    assert.equal(latest.pushed.message, 'move to B')
    assert.ok(latest.pushed.user && latest.pushed.host, JSON.stringify(latest.pushed))
    assert.deepEqual(latest.changes.modified, ['routes/main'])
    assert.match(gw1.output(), /config change .*changes="?~routes\/main.*message="?move to B/)

    const rb = await runCli(['config', 'rollback', '--to', v1, ...etcdArgs, '--message', 'B misbehaves'])
    assert.equal(rb.code, 0, rb.stderr)
    assert.match(rb.stdout, new RegExp(`rolled back to revision ${v1}`))
    const started = Date.now()
    for (const gw of [gw1, gw2]) await eventually(async () => (await history(gw.admin))[0].pushed?.message === 'B misbehaves', undefined, 'rollback applied')
    assert.ok(Date.now() - started < 1500, `rollback live on both within ${Date.now() - started} ms`)
    assert.match(await chat(port), /Hello from A/)
    const bad = await runCli(['config', 'rollback', '--to', 'abc', ...etcdArgs])
    assert.equal(bad.code, 1)
    assertNoTrace(bad.stderr)
  } finally {
    await Promise.all([gw1.stop(), gw2.stop()])
  }
})
