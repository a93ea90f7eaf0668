/**
 * Issue 13: uWebSockets.js's JavaScript fallback (forced here with the package's own
 * UWS_USE_FALLBACK=1) is never silent. The gateway still serves on it, but logs it at error level
 * and reports it in /ready and /runtime; `run --require-native` and `runtime.require_native` refuse
 * to start on it, with one clear line and no stack trace. On the native addon /ready says so too.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, startGateway } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

const config = (admin: number, port: number, runtime = '') => `
admin: { port: ${admin} }
${runtime}
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes: [{ name: main, rules: [{ cluster: mock }] }]
clusters: [{ name: mock, provider: mock }]
`

test('on the JavaScript fallback the gateway serves, logs an error and says so in /ready and /runtime', async (t) => {
  const port = await freePort()
  const gw = await startGateway((admin) => config(admin, port), { env: { UWS_USE_FALLBACK: '1' } })
  t.after(() => gw.stop('SIGKILL')) // shutdown on the fallback is not what this tests (its close is slow)
  const ready = (await (await fetch(`${gw.admin}/ready`)).json()) as { uws: string; warnings?: string[] }
  assert.equal(ready.uws, 'fallback')
  assert.match(ready.warnings?.[0] ?? '', /slow JavaScript fallback/)
  const runtime = (await (await fetch(`${gw.admin}/runtime`)).json()) as { uws: string; workers: { uws: string }[]; warnings?: string[] }
  assert.equal(runtime.uws, 'fallback')
  assert.deepEqual(runtime.workers.map((w) => w.uws), ['fallback'])
  assert.ok(runtime.warnings?.length)
  assert.match(gw.output(), / error \[main\] uWebSockets\.js could not load its native addon/)
  const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","messages":[{"role":"user","content":"hi"}]}' })
  assert.equal(r.status, 200)
})

test('--require-native and runtime.require_native refuse the fallback with one clear line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-native-'))
  for (const [args, runtime, why] of [[['--require-native'], '', '--require-native'], [[], 'runtime: { require_native: true }', 'runtime.require_native']] as const) {
    const file = join(dir, `c${why.length}.yaml`)
    writeFileSync(file, config(await freePort(), await freePort(), runtime))
    const r = spawnSync(process.execPath, [BIN, 'run', file, '--workers', '1', ...args], { env: { ...process.env, UWS_USE_FALLBACK: '1' }, encoding: 'utf8', timeout: 20_000 })
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, new RegExp(`runs its slow JavaScript fallback; refusing to start \\(${why.replace('.', '\\.')}\\)`))
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  }
})

test('on the native addon /ready reports it and --require-native starts', async (t) => {
  const port = await freePort()
  const gw = await startGateway((admin) => config(admin, port, 'runtime: { require_native: true }'))
  t.after(() => gw.stop())
  const ready = (await (await fetch(`${gw.admin}/ready`)).json()) as { uws: string; warnings?: string[] }
  assert.equal(ready.uws, 'native', 'the test machine must load the native addon (Node 20, x64)')
  assert.equal(ready.warnings, undefined)
})
