import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveAdmin } from '../../../src/compiler/resolve/admin.js'
import { mergedConfig, shown } from '../../support/resolve-docs.js'

test('without an admin section the admin API listens on 127.0.0.1:9901 and answers loopback Hosts only', () => {
  const { config, ctx } = mergedConfig({ 'a.yaml': 'clusters: [{ name: a, provider: mock }]\n' })
  assert.deepStrictEqual(resolveAdmin(config, ctx), { address: '127.0.0.1', port: 9901, allowedHosts: [] })
  assert.deepStrictEqual(ctx.positions.paths(), [])
})

test('allowed_hosts are lower-cased; a non-loopback address is refused at the address', () => {
  const { config, ctx } = mergedConfig({ 'a.yaml': 'admin:\n  address: 0.0.0.0\n  port: 9000\n  allowed_hosts: [Gateway.Internal]\n' })
  assert.deepStrictEqual(resolveAdmin(config, ctx), { address: '0.0.0.0', port: 9000, allowedHosts: ['gateway.internal'] })
  assert.deepStrictEqual(shown(ctx.diags).map((s) => s.slice(0, s.indexOf(': '))), ['a.yaml:2:12 SY_CFG_ADMIN_EXPOSED admin.address'])
  assert.equal(ctx.positions.where(['admin']), 'a.yaml:2:3')
})
