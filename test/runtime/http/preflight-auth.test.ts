/**
 * A listener with both a cors filter and an auth filter: a browser's preflight carries no
 * credentials (Fetch spec), so the cors filter's preflight answer comes before auth; everything
 * else, an OPTIONS to a route without CORS included, still needs a key.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { dispatch } from '../../../src/runtime/http/dispatch.js'
import type { Snapshot } from '../../../src/runtime/types.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'
import { builtSnapshot } from '../../support/built-snapshot.js'

const CONFIG = (cors: string) => `
admin: { port: 0 }
listeners: [{ name: l, port: 8080, route_table: t, filters: [keys${cors}] }]
routes:
  - name: t
    rules:
      - { name: chat, match: { path: { exact: /v1/chat/completions } }, cluster: m }
filters:
  - { name: keys, type: api_key }
  - { name: browser, type: cors, config: { allow_origins: [http://app.test] } }
tenants: [{ name: free }]
keys: [{ id: demo, tenant: free, hash: "sha256:95d217a72d8e1f2592a4416c1537a6721ef43aedab19572ec86ca420804ec755" }]
clusters: [{ name: m, provider: mock, mock: { reply: hi } }]
`

function setup(t: TestContext, cors: boolean): Snapshot {
  return builtSnapshot(t, 'preflight.yaml', CONFIG(cors ? ', browser' : ''))
}

async function send(snap: Snapshot, method: string, headers: Record<string, string>, body?: object): Promise<MemoryDownstream> {
  const down = new MemoryDownstream()
  const h = { ...headers, ...(body && { 'content-type': 'application/json' }) }
  await new Promise<void>((resolve) => {
    dispatch(snap, snap.listeners.get(8080)!, { method, path: '/v1/chat/completions', query: '', headers: h, body: body && Buffer.from(JSON.stringify(body)) }, down, resolve)
  })
  return down
}

const PREFLIGHT = { origin: 'http://app.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' }
const chat = { model: 'm', messages: [{ role: 'user', content: 'hi' }] }

test('a preflight the cors filter answers needs no key; the request it announces does', async (t) => {
  const snap = setup(t, true)
  const pre = await send(snap, 'OPTIONS', PREFLIGHT)
  assert.equal(pre.status, 204)
  assert.ok(pre.headers.some(([k, v]) => k === 'access-control-allow-origin' && v === 'http://app.test'), JSON.stringify(pre.headers))
  const post = await send(snap, 'POST', { origin: 'http://app.test' }, chat)
  assert.equal(post.status, 401)
})

test('without a cors filter, an OPTIONS shaped like a preflight still goes through auth', async (t) => {
  const snap = setup(t, false)
  const pre = await send(snap, 'OPTIONS', PREFLIGHT)
  assert.equal(pre.status, 401)
})
