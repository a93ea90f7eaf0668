/**
 * A request no rule serves for its tenant, though a rule would serve another tenant, is refused
 * 403 (`permission_denied`; Anthropic `permission_error`), not 404: the route exists, the caller
 * may not use it. A request no rule would serve for anyone stays a 404.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dispatch } from '../../../src/runtime/http/dispatch.js'
import type { Snapshot } from '../../../src/runtime/types.js'
import { createKeyRecord } from '../../../src/shared/key-records.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'
import { builtSnapshot } from '../../support/built-snapshot.js'

const free = createKeyRecord({ tenant: 'free', id: 'free-key' }, Date.now())
const pro = createKeyRecord({ tenant: 'pro', id: 'pro-key' }, Date.now())

const CONFIG = `
admin: { port: 0 }
listeners: [{ name: l, port: 8080, route_table: t, filters: [keys] }]
filters: [{ name: keys, type: api_key }]
tenants: [{ name: free, labels: { tier: free } }, { name: pro, labels: { tier: pro } }]
keys:
  - { id: ${free.record.id}, tenant: free, hash: "${free.record.hash}" }
  - { id: ${pro.record.id}, tenant: pro, hash: "${pro.record.hash}" }
routes:
  - name: t
    rules:
      - { name: pro-only, match: { path: { exact: /v1/chat/completions }, tenant_labels: [{ name: tier, exact: pro }] }, cluster: m }
clusters: [{ name: m, provider: mock, mock: { reply: hi } }]
`

async function send(snap: Snapshot, key: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const down = new MemoryDownstream()
  const body = Buffer.from(JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }))
  await new Promise<void>((resolve) => {
    dispatch(snap, snap.listeners.get(8080)!, { method: 'POST', path, query: '', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers }, body }, down, resolve)
  })
  return { status: down.status!, body: JSON.parse(Buffer.concat(down.chunks.map((c) => c.data)).toString()) }
}

test('a rule for another tenant: 403 permission_denied; no rule for anyone: 404', async (t) => {
  const snap = builtSnapshot(t, 'forbidden.yaml', CONFIG)
  assert.equal((await send(snap, pro.key, '/v1/chat/completions')).status, 200)
  const refused = await send(snap, free.key, '/v1/chat/completions')
  assert.equal(refused.status, 403)
  assert.equal(refused.body.error.code, 'permission_denied')
  const anthropic = await send(snap, free.key, '/v1/messages')
  assert.equal(anthropic.status, 404, 'no rule serves /v1/messages for anyone')
  assert.equal(anthropic.body.error.type, 'not_found_error')
})
