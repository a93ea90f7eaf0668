/**
 * Tenant from a proxy's header, believed only from configured proxy addresses: rule matching as
 * data, then real connections from different loopback sources (127.0.0.1, 127.0.0.2, ::1) to a
 * dual-stack server, whose peers arrive as the socket reports them (`::ffff:127.0.0.1`).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { compileTrustedHeader, type TrustedTenant } from '../../../src/runtime/identity/trusted-header.js'

const trusted = compileTrustedHeader({ header: 'X-Auth-Tenant', sources: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1'] })

const PEERS: [peer: string, trusted: boolean][] = [
  ['10.1.2.3', true],
  ['10.255.255.255', true],
  ['11.0.0.1', false],
  ['192.168.1.7', true],
  ['192.168.1.8', false],
  ['::ffff:10.9.9.9', true],
  ['0000:0000:0000:0000:0000:ffff:0a09:0909', true],
  ['::ffff:11.0.0.1', false],
  ['fd12:3456::1', true],
  ['fe80::1%eth0', false],
  ['::1', true],
  ['::2', false],
  ['2001:db8::1', false],
  ['', false],
  ['not-an-ip', false],
]

for (const [peer, ok] of PEERS) {
  test(`peer ${JSON.stringify(peer)} is ${ok ? '' : 'not '}a trusted proxy`, () => {
    assert.equal(trusted.trusts(peer), ok)
    const v = trusted.tenantOf(peer, { 'x-auth-tenant': 'acme' })
    assert.deepStrictEqual(v, ok ? { ok: true, tenant: 'acme' } : { ok: false, reason: 'untrusted_source' })
  })
}

test('a trusted peer without the header, or with a value no tenant can have, yields no tenant', () => {
  assert.deepStrictEqual(trusted.tenantOf('10.0.0.1', {}), { ok: false, reason: 'missing' })
  for (const bad of ['', ' ', 'acme corp', 'a/b', 'x'.repeat(200), '-acme']) {
    assert.deepStrictEqual(trusted.tenantOf('10.0.0.1', { 'x-auth-tenant': bad }), { ok: false, reason: 'invalid' }, bad)
  }
  assert.equal(trusted.header, 'x-auth-tenant')
})

test('a bad config lists every bad source at once; an empty list is refused', () => {
  assert.throws(
    () => compileTrustedHeader({ header: 'x-tenant', sources: ['10.0.0.0/33', 'example.com', '::1/129', '10.0.0.1/x'] }),
    { message: 'trusted_header: source "10.0.0.0/33": prefix length must be 0-32; source "example.com" is not an IP address or CIDR; source "::1/129": prefix length must be 0-128; source "10.0.0.1/x": prefix length must be 0-32' },
  )
  assert.throws(() => compileTrustedHeader({ header: 'x-tenant', sources: [] }), /at least one proxy address/)
  assert.throws(() => compileTrustedHeader({ header: 'x tenant', sources: ['::1'] }), /not a valid header name/)
})

test('real connections: only the configured loopback source may set the tenant', async (t) => {
  const only = compileTrustedHeader({ header: 'x-auth-tenant', sources: ['127.0.0.1/32'] })
  const server = createServer((req, res) => {
    const v = only.tenantOf(req.socket.remoteAddress ?? '', req.headers as Record<string, string>)
    res.end(JSON.stringify(v))
  })
  await new Promise<void>((r) => server.listen(0, '::', r))
  t.after(() => { server.closeAllConnections(); server.close() })
  const { port } = server.address() as AddressInfo
  const ask = (host: string, localAddress?: string) =>
    new Promise<TrustedTenant>((resolve, reject) => {
      const req = request({ host, port, localAddress, headers: { 'x-auth-tenant': 'acme' }, agent: false }, (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve(JSON.parse(body)))
      })
      req.on('error', reject)
      req.end()
    })
  assert.deepStrictEqual(await ask('127.0.0.1'), { ok: true, tenant: 'acme' })
  assert.deepStrictEqual(await ask('127.0.0.1', '127.0.0.2'), { ok: false, reason: 'untrusted_source' })
  assert.deepStrictEqual(await ask('::1'), { ok: false, reason: 'untrusted_source' })
})
