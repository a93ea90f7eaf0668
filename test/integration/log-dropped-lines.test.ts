/**
 * A log reader that stops reading costs log lines, never requests, and the loss is visible: with the
 * gateway's stderr no longer read, a worker writing access records fills its pipe and then its
 * bounded buffer, every request is still answered, and `switchyard_log_lines_dropped_total` on
 * /metrics counts what was dropped.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { Pool } from 'undici'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let gw: GatewayProcess
let port: number

before(async () => {
  port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
log: { format: json }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main, access_log: true }]
routes: [{ name: main, rules: [{ name: only, match: { path: { exact: /only } }, direct_response: { status: 204 } }] }]
`, { readyTimeoutMs: 30_000 })
})

after(async () => {
  gw?.child.stderr!.resume()
  assert.equal(await gw?.stop(), 0)
})

async function dropped(): Promise<Record<string, number>> {
  const text = await (await fetch(`${gw.admin}/metrics`)).text()
  const out: Record<string, number> = {}
  for (const m of text.matchAll(/^switchyard_log_lines_dropped_total\{thread="(\w+)"\} (\d+)$/gm)) out[m[1]] = Number(m[2])
  return out
}

test('the series exists from the start, at 0 for both kinds of thread', async () => {
  assert.deepStrictEqual(await dropped(), { main: 0, worker: 0 })
})

test('stderr not read: requests are all answered, and the dropped access records are counted', { timeout: 120_000 }, async () => {
  gw.child.stderr!.pause()
  // ~3.5 KB per access record (its path): the pipe (64 KiB) and the 16 MiB buffer fill after ~5,000.
  const path = `/${'p'.repeat(3400)}`
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 16, pipelining: 1 })
  let answered = 0
  let statusOk = true
  const total = 8000
  let next = 0
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < total) {
      next++
      const r = await pool.request({ method: 'GET', path })
      await r.body.dump()
      statusOk &&= r.statusCode === 404
      answered++
    }
  }))
  await pool.close()
  assert.equal(answered, total)
  assert.ok(statusOk, 'every request got its 404')
  const d = await dropped()
  assert.ok(d.worker > 0 && d.worker < total, `worker dropped ${d.worker}`)
})
