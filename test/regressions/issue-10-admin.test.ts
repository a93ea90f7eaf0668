/**
 * Issue 10, item 9: the admin API had no Host check, so a web page could read /config through DNS
 * rebinding, and `admin.address: 0.0.0.0` exposed it, unauthenticated, without a word.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { request } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let gw: GatewayProcess

async function start(adminSection = ''): Promise<GatewayProcess> {
  const port = await freePort()
  return startGateway((admin) => `
admin: { port: ${admin}${adminSection} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
routes:
  - { name: main, rules: [{ cluster: m }] }
clusters:
  - { name: m, provider: mock }
`)
}

async function stop(g: GatewayProcess | undefined): Promise<void> {
  const code = await g?.stop()
  assert.equal(code, 0, `gateway exit code; output:\n${g?.output()}`)
}

before(async () => { gw = await start() })
after(() => stop(gw))

/** GET on the admin port with an explicit Host header (fetch does not let a caller set it). */
function get(path: string, host: string, g = gw): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: g.adminPort, path, headers: { host } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }))
    })
    req.on('error', reject)
    req.end()
  })
}

test('a foreign Host gets 403 with a JSON error and none of the config', async () => {
  const r = await get('/config', 'evil.example')
  assert.equal(r.status, 403)
  assert.equal(r.type, 'application/json')
  const body = JSON.parse(r.body)
  assert.deepStrictEqual(Object.keys(body), ['error'])
  assert.match(body.error, /Host/)
  assert.ok(!r.body.includes('mock'), r.body)
})

test('a foreign Host with the admin port, and one that merely starts like localhost, are refused too', async () => {
  for (const host of [`evil.example:${gw.adminPort}`, `localhost.evil.example:${gw.adminPort}`, '127.0.0.1.evil.example']) {
    for (const path of ['/config', '/ready', '/healthz', '/nope']) assert.equal((await get(path, host)).status, 403, `${host} ${path}`)
  }
})

test('loopback Host values are served', async () => {
  for (const host of [`localhost:${gw.adminPort}`, 'localhost', `127.0.0.1:${gw.adminPort}`, `[::1]:${gw.adminPort}`]) {
    const r = await get('/config', host)
    assert.equal(r.status, 200, host)
    assert.equal(typeof JSON.parse(r.body).version, 'string')
  }
})

test('a Host listed in admin.allowed_hosts is served, with any port and in any case', async (t) => {
  const g = await start(', allowed_hosts: [Gateway.Internal]')
  t.after(() => stop(g))
  assert.equal((await get('/config', `gateway.internal:${g.adminPort}`, g)).status, 200)
  assert.equal((await get('/ready', 'GATEWAY.internal', g)).status, 200)
  assert.equal((await get('/config', 'evil.example', g)).status, 403)
})

test('validate rejects admin.address 0.0.0.0 at its line:col, without a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-admin-'))
  const file = join(dir, 'exposed.yaml')
  writeFileSync(file, 'admin:\n  address: 0.0.0.0\nlisteners: []\n')
  const r = spawnSync(process.execPath, [BIN, 'validate', file], { encoding: 'utf8' })
  assert.notEqual(r.status, 0)
  const out = r.stdout + r.stderr
  assert.match(out, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:12: admin\\.address: "0\\.0\\.0\\.0" is not a loopback address: the admin API would be exposed without authentication`))
  assert.match(out, /admin\.token/)
  assert.doesNotMatch(out, /\n\s+at /)
})
