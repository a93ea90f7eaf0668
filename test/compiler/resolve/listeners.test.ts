import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveAdmin } from '../../../src/compiler/resolve/admin.js'
import { resolveListeners } from '../../../src/compiler/resolve/listeners.js'
import { mergedConfig, shown } from '../../support/resolve-docs.js'

function resolved(files: Record<string, string>) {
  const { config, ctx } = mergedConfig(files)
  return { listeners: resolveListeners(config, resolveAdmin(config, ctx), ctx), ctx }
}

test('a listener lowers its limits and protocol and is recorded under its IR path', () => {
  const { listeners, ctx } = resolved({ 'l.yaml': 'admin: { port: 0 }\nlisteners: [{ name: l, port: 8080, route_table: t, max_body: 1mb, routing_headers: false }]\nroutes: [{ name: t, rules: [{ direct_response: { status: 200, body: ok } }] }]\n' })
  assert.deepStrictEqual(ctx.diags, [])
  assert.deepStrictEqual(listeners, [{ name: 'l', address: '0.0.0.0', port: 8080, routeTable: 't', filters: [], maxBodyBytes: 1024 ** 2, protocol: 'openai', routingHeaders: false }])
  assert.equal(ctx.positions.where(['listeners', 0]), 'l.yaml:2:13')
})

test('unknown route tables and filters, and ports taken by another listener or the admin API, are reported', () => {
  const { ctx } = resolved({
    'a.yaml': 'admin: { port: 9000 }\nlisteners: [{ name: one, port: 8080, route_table: missing, filters: [nope] }]\n',
    'b.yaml': 'listeners:\n  - { name: two, port: 8080, route_table: t }\n  - { name: three, port: 9000, route_table: t }\nroutes: [{ name: t, rules: [{ direct_response: { status: 200, body: ok } }] }]\n',
  })
  assert.deepStrictEqual(shown(ctx.diags), [
    "a.yaml:2:51 SY_CFG_UNKNOWN_ROUTE_TABLE listeners[0].route_table: unknown route table 'missing' (known: t)",
    "a.yaml:2:70 SY_CFG_UNKNOWN_FILTER listeners[0].filters[0]: unknown filter 'nope' (known: none)",
    "b.yaml:2:24 SY_CFG_PORT_CLASH listeners[0].port: port 8080 is already used by listener 'one' (at a.yaml:2:13)",
    "b.yaml:3:26 SY_CFG_PORT_CLASH listeners[1].port: port 9000 is already used by the admin API (at a.yaml:1:8)",
  ])
})

test('without an admin section, a listener on the admin default port is told to set admin.port', () => {
  const { ctx } = resolved({ 'l.yaml': 'listeners: [{ name: l, port: 9901, route_table: t }]\nroutes: [{ name: t, rules: [{ direct_response: { status: 200, body: ok } }] }]\n' })
  assert.deepStrictEqual(shown(ctx.diags), ["l.yaml:1:30 SY_CFG_PORT_CLASH listeners[0].port: port 9901 is the admin API's default port; set admin.port"])
})
