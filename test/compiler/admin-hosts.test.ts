/**
 * The admin API's address and Host policy (issue 10, item 9): it may only bind a loopback address
 * until it has authentication, and answers only loopback Host values or those in allowed_hosts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig, formatDiagnostic } from '../../src/compiler/index.js'
import { adminHostAllowed, hostOfHostHeader, isLoopback } from '../../src/shared/loopback.js'

const LOOPBACK = ['localhost', 'LocalHost', 'localhost.', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']
const NOT_LOOPBACK = ['0.0.0.0', '::', '', '10.0.0.1', '192.168.1.5', '128.0.0.1', 'fe80::1', 'fe80::1%eth0', '::ffff:10.0.0.1', 'localhost.evil.example', '127.0.0.1.nip.io', 'evil.example']

test('isLoopback accepts loopback names and addresses only', () => {
  assert.deepStrictEqual(LOOPBACK.filter((h) => !isLoopback(h)), [])
  assert.deepStrictEqual(NOT_LOOPBACK.filter((h) => isLoopback(h)), [])
})

test('hostOfHostHeader takes the host out of host, host:port, [v6] and [v6]:port', () => {
  const cases: [string, string | undefined][] = [
    ['localhost', 'localhost'], ['LOCALHOST:9901', 'localhost'], ['127.0.0.1:80', '127.0.0.1'],
    ['[::1]', '::1'], ['[::1]:9901', '::1'], ['::1', '::1'], ['gateway.internal:9901', 'gateway.internal'],
    ['', undefined], ['[::1', undefined], ['[::1]x', undefined], ['localhost:port', undefined], ['a:1:b', undefined],
  ]
  assert.deepStrictEqual(cases.map(([h]) => [h, hostOfHostHeader(h)]), cases)
})

test('adminHostAllowed: loopback Hosts, allowed_hosts entries (with or without a port), nothing else', () => {
  const allowed = ['gateway.internal', 'proxy.example:8443']
  const yes = ['localhost', 'localhost:9901', '127.0.0.1:9901', '[::1]:9901', '::1', 'gateway.internal', 'Gateway.Internal:9901', 'proxy.example:8443']
  const no = ['evil.example', 'evil.example:9901', 'proxy.example', 'proxy.example:443', 'gateway.internal.evil.example', 'localhost.evil.example:9901', '', '[::1', 'localhost:x']
  assert.deepStrictEqual(yes.filter((h) => !adminHostAllowed(h, allowed)), [])
  assert.deepStrictEqual(no.filter((h) => adminHostAllowed(h, allowed)), [])
  assert.equal(adminHostAllowed('gateway.internal', []), false)
})

const compile = (admin: string) => compileConfig([{ name: 'admin.yaml', text: `admin: ${admin}\n` }], { source: 'test', env: {} })

test('a non-loopback admin.address is a config error at the address, whatever the port', () => {
  for (const address of ['0.0.0.0', '"::"', '192.168.1.10', 'gateway.example']) {
    for (const port of [9901, 0]) {
      const r = compile(`{ address: ${address}, port: ${port} }`)
      assert.equal(r.ok, false, address)
      assert.deepStrictEqual(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.code} ${d.path}`), ['1:19 SY_CFG_ADMIN_EXPOSED admin.address'], address)
      assert.match(formatDiagnostic(r.diagnostics[0]), /is not a loopback address: the admin API would be exposed without authentication; a non-loopback bind needs admin\.token/)
    }
  }
})

test('loopback admin addresses compile, and allowed_hosts lands lower-cased in the IR', () => {
  for (const address of ['127.0.0.1', 'localhost', '"::1"', '127.0.0.2']) {
    const r = compile(`{ address: ${address}, allowed_hosts: [Gateway.Internal, "proxy:8443"] }`)
    assert.deepStrictEqual(r.diagnostics, [], address)
    assert.ok(r.ok)
    assert.deepStrictEqual(r.ir.admin.allowedHosts, ['gateway.internal', 'proxy:8443'])
  }
})

test('allowed_hosts must be a list of non-empty strings', () => {
  const r = compile('{ allowed_hosts: [""] }')
  assert.deepStrictEqual(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.code} ${d.path}`), ['1:26 SY_CFG_SCHEMA admin.allowed_hosts[0]'])
})
