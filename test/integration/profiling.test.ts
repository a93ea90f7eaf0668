/**
 * Issue 15, profiling on demand: POST /debug/profile returns one worker's V8 CPU profile
 * (.cpuprofile JSON with nodes, samples and timeDeltas), POST /debug/heap its heap snapshot; both
 * need the admin token (401 without), are refused when no token is configured (403), are bounded
 * (seconds ≤ 60) and run one at a time (409). Real process with two workers.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

const TOKEN = 'profiling-admin-token-51d0'
let gw: GatewayProcess
let open: GatewayProcess
let workers: number[]
const auth = { authorization: `Bearer ${TOKEN}` }

const config = (token: boolean, port: number) => (admin: number) => `
admin: { port: ${admin}${token ? ', token: "${env:PROF_TOKEN}"' : ''} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes: [{ name: main, rules: [{ cluster: mock }] }]
clusters: [{ name: mock, provider: mock }]
`

before(async () => {
  gw = await startGateway(config(true, await freePort()), { workers: 2, env: { PROF_TOKEN: TOKEN } })
  open = await startGateway(config(false, await freePort()))
  workers = ((await (await fetch(`${gw.admin}/ready`)).json()) as { workers: { id: number }[] }).workers.map((w) => w.id)
})

after(async () => {
  await gw?.stop()
  await open?.stop()
})

test('a CPU profile of a chosen worker is a .cpuprofile DevTools opens: nodes, samples, time deltas', async () => {
  const res = await fetch(`${gw.admin}/debug/profile?worker=${workers[1]}&seconds=1`, { method: 'POST', headers: auth })
  assert.equal(res.status, 200, await res.clone().text())
  assert.match(res.headers.get('content-disposition') ?? '', new RegExp(`worker-${workers[1]}-.*\\.cpuprofile"$`))
  const profile = (await res.json()) as { nodes: { id: number; callFrame: { functionName: string } }[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }
  assert.ok(profile.nodes.length > 0 && profile.samples.length > 0, 'nodes and samples')
  assert.equal(profile.samples.length, profile.timeDeltas.length)
  assert.ok(profile.endTime - profile.startTime >= 900_000, `sampled ${profile.endTime - profile.startTime} µs`)
  const ids = new Set(profile.nodes.map((n) => n.id))
  assert.ok(profile.samples.every((s) => ids.has(s)), 'every sample names a node')
})

test('a heap snapshot parses, with its meta, nodes and strings', async () => {
  const res = await fetch(`${gw.admin}/debug/heap?worker=${workers[0]}`, { method: 'POST', headers: auth })
  assert.equal(res.status, 200)
  const snap = (await res.json()) as { snapshot: { meta: { node_fields: string[] }; node_count: number }; nodes: number[]; strings: string[] }
  assert.ok(snap.snapshot.meta.node_fields.includes('name'))
  assert.equal(snap.nodes.length, snap.snapshot.node_count * snap.snapshot.meta.node_fields.length)
  assert.ok(snap.strings.length > 0)
})

test('one at a time: a second request while a profile runs is 409', async () => {
  const first = fetch(`${gw.admin}/debug/profile?seconds=1.5`, { method: 'POST', headers: auth })
  await new Promise((r) => setTimeout(r, 300))
  const second = await fetch(`${gw.admin}/debug/heap`, { method: 'POST', headers: auth })
  assert.equal(second.status, 409)
  assert.equal((await first).status, 200)
  await (await first).arrayBuffer()
})

test('bounded and checked: seconds above 60 or not a number is 400, an unknown worker 404, GET 405', async () => {
  assert.equal((await fetch(`${gw.admin}/debug/profile?seconds=61`, { method: 'POST', headers: auth })).status, 400)
  assert.equal((await fetch(`${gw.admin}/debug/profile?seconds=abc`, { method: 'POST', headers: auth })).status, 400)
  assert.equal((await fetch(`${gw.admin}/debug/profile?seconds=0`, { method: 'POST', headers: auth })).status, 400)
  const unknown = await fetch(`${gw.admin}/debug/profile?worker=999&seconds=1`, { method: 'POST', headers: auth })
  assert.equal(unknown.status, 404)
  assert.match(((await unknown.json()) as { error: string }).error, new RegExp(`workers: ${workers.join(', ')}`))
  assert.equal((await fetch(`${gw.admin}/debug/heap`, { headers: auth })).status, 405)
})

test('without the token: 401; with no token configured: 403', async () => {
  assert.equal((await fetch(`${gw.admin}/debug/profile?seconds=1`, { method: 'POST' })).status, 401)
  assert.equal((await fetch(`${gw.admin}/debug/heap`, { method: 'POST', headers: { authorization: 'Bearer nope' } })).status, 401)
  const off = await fetch(`${open.admin}/debug/profile?seconds=1`, { method: 'POST' })
  assert.equal(off.status, 403)
  assert.match(((await off.json()) as { error: string }).error, /admin\.token/)
  assert.equal((await fetch(`${open.admin}/debug/heap`, { method: 'POST' })).status, 403)
})

test('each profile is logged and audited, the token never', () => {
  const out = gw.output()
  assert.match(out, /CPU profile taken worker=\d+ bytes=\d+/)
  assert.match(out, /heap snapshot taken worker=\d+ bytes=\d+/)
  assert.match(out, /audit admin request method=POST path=\/debug\/profile query=worker=\d+&seconds=1 status=200 peer=127\.0\.0\.1 authenticated=true/)
  assert.ok(!out.includes(TOKEN))
})
