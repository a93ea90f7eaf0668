/**
 * Graceful shutdown: SIGTERM stops accepting, lets the stream in flight finish, exits 0.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { startOpenAIUpstream } from '../support/openai-upstream.js'
import { eventually, startGateway } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

test('a stream in flight at SIGTERM completes, new connections are refused, exit code is 0', async (t) => {
  const up = await startOpenAIUpstream('up')
  t.after(() => up.close())
  const port = await freePort()
  const gw = await startGateway((admin) => `
admin: { port: ${admin} }
runtime: { drain_timeout: 10s }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes: [{ name: main, rules: [{ cluster: up }] }]
clusters: [{ name: up, provider: openai, endpoints: [{ url: "${up.url}" }] }]
`, { workers: 2 })
  t.after(() => gw.stop('SIGKILL'))

  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'slow-stream', stream: true, messages: [] }),
  })
  assert.equal(res.status, 200)
  const reader = res.body!.getReader()
  const first = await reader.read()
  assert.ok(!first.done)
  const sentAt = performance.now()
  gw.child.kill('SIGTERM')

  // New connections are refused while the stream drains: the listener closes once the signal is
  // handled, which a loaded box may take a while to get to; poll (the stream is checked below).
  const refused = () => new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(true))
  })
  await eventually(refused, undefined, 'new connections to be refused after SIGTERM').catch(() => {})
  assert.ok(await refused(), 'a new connection was accepted after SIGTERM')

  let text = new TextDecoder().decode(first.value)
  for (;;) {
    const { done, value } = await reader.read().catch((e) => assert.fail(`stream broke: ${e}\n${gw.output()}`))
    if (done) break
    text += new TextDecoder().decode(value)
  }
  assert.match(text, /data: \[DONE\]/, 'the stream was cut short')
  assert.ok(performance.now() - sentAt >= 250, 'the stream ended suspiciously early')
  const code = await gw.exited
  assert.equal(code, 0, gw.output())
  assert.match(gw.output(), /SIGTERM received/)
})

test('an invalid config at startup exits 1 and prints file:line:col', async () => {
  const { spawnSync } = await import('node:child_process')
  const { mkdtempSync, writeFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'sy-bad-'))
  const file = join(dir, 'bad.yaml')
  writeFileSync(file, 'listeners:\n  - name: x\n    port: "eighty"\n    route_table: t\n')
  const r = spawnSync(process.execPath, ['bin/switchyard.js', 'run', '-c', file, '--workers', '1'], { encoding: 'utf8' })
  assert.equal(r.status, 1, `exit ${r.status} signal ${r.signal}\nstderr:\n${r.stderr}`)
  assert.match(r.stderr, new RegExp(`${file.replace(/[/.]/g, '\\$&')}:3:11: listeners\\[0\\]\\.port: must be integer`))
  assert.match(r.stderr, /unknown route table 't'|invalid configuration/)
})
