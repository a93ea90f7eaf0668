/**
 * Hot reload while traffic flows: weight changes take effect within a second, broken configs never
 * do (and are reported), listeners come and go without a restart, and not one request fails.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { Agent, request } from 'undici'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let a: Upstream
let b: Upstream
let gw: GatewayProcess
let port: number
const agent = new Agent({ connections: 16 })

const config = (admin: number, wa: number, wb: number, extra = '') => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
${extra}
routes:
  - name: main
    rules:
      - match: { path: { exact: /v1/chat/completions } }
        weighted_clusters:
          clusters: [{ name: a, weight: ${wa} }, { name: b, weight: ${wb} }]
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${a.url}" }] }
  - { name: b, provider: openai, endpoints: [{ url: "${b.url}" }] }
`

before(async () => {
  a = await startOpenAIUpstream('A')
  b = await startOpenAIUpstream('B')
  port = await freePort()
  gw = await startGateway((admin) => config(admin, 100, 0), { workers: 2 })
})

after(async () => {
  await agent.close()
  const code = await gw?.stop()
  await a?.close()
  await b?.close()
  assert.equal(code, 0, gw?.output())
})

async function chat(p = port, body: object = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }): Promise<{ status: number; text: string }> {
  const r = await request(`http://127.0.0.1:${p}/v1/chat/completions`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: r.statusCode, text: await r.body.text() }
}

const adminConfig = async () => (await fetch(`${gw.admin}/config`)).json() as Promise<any>

/** Writes a config and waits until every worker serves it. */
async function reloadTo(text: string): Promise<void> {
  const before = (await adminConfig()).version
  gw.writeConfig(text)
  await eventually(async () => {
    const c = await adminConfig()
    return c.version !== before && c.workers.every((w: any) => w.version === c.version)
  }, undefined, 'the new config to go live on every worker')
}

test('20+ rewrites under concurrent traffic: zero failures, new weights apply, broken configs never do', async () => {
  let stop = false
  const failures: string[] = []
  let served = 0
  // Only requests sent after a change is live count toward checking it.
  const recent: { sentAt: number; who: string }[] = []
  const loop = async () => {
    while (!stop) {
      try {
        const sentAt = performance.now()
        const r = await chat()
        served++
        if (r.status !== 200) failures.push(`${r.status} ${r.text}`)
        else recent.push({ sentAt, who: r.text.includes('Hello from A') ? 'A' : 'B' })
      } catch (e) {
        failures.push(String(e))
      }
    }
  }
  const loops = Array.from({ length: 8 }, loop)
  const sample = async (n: number) => {
    const since = performance.now()
    recent.length = 0
    const fresh = () => recent.filter((r) => r.sentAt >= since)
    await eventually(() => fresh().length >= n, undefined, `${n} responses`)
    return fresh().slice(0, n).map((r) => r.who)
  }
  const applyAndWait = async (wa: number, wb: number) => {
    const before = (await adminConfig()).version
    gw.writeConfig(config(gw.adminPort, wa, wb))
    const t0 = performance.now()
    await eventually(async () => {
      const c = await adminConfig()
      return c.version !== before && c.workers.every((w: any) => w.version === c.version)
    }, 1000, `weights ${wa}/${wb} to go live within 1 s`)
    return performance.now() - t0
  }
  const broken = [
    'listeners: [ { name: api, port: oops',                    // YAML syntax
    config(gw.adminPort, 0, 0),                                // zero total weight
    config(gw.adminPort, 50, 50).replace('name: b, provider', 'name: c, provider'), // unknown cluster b
  ]
  const delays: number[] = []
  try {
    for (let round = 0; round < 7; round++) {
      delays.push(await applyAndWait(0, 100))
      assert.ok((await sample(30)).every((x) => x === 'B'), 'after 0/100 every answer comes from B')
      const badText = broken[round % broken.length]
      const versionBefore = (await adminConfig()).version
      gw.writeConfig(badText)
      await eventually(async () => (await adminConfig()).last_error !== null, undefined, 'the broken config to be reported')
      const c = await adminConfig()
      assert.equal(c.version, versionBefore, 'a broken config must not go live')
      assert.match(c.last_error[0], /config\.yaml:\d+:\d+: /)
      assert.ok((await sample(20)).every((x) => x === 'B'), 'the last good config keeps serving')
      delays.push(await applyAndWait(100, 0))
      assert.ok((await sample(30)).every((x) => x === 'A'), 'after 100/0 every answer comes from A')
    }
    delays.push(await applyAndWait(50, 50))
    const mix = await sample(400)
    const share = mix.filter((x) => x === 'A').length / mix.length
    assert.ok(share > 0.4 && share < 0.6, `50/50 split gave A ${(share * 100).toFixed(1)}%`)
  } finally {
    stop = true
    await Promise.all(loops)
  }
  assert.deepEqual(failures, [], `${failures.length} of ${served} requests failed`)
  assert.ok(served > 500, `only ${served} requests were sent`)
  assert.match(gw.output(), /config rejected/)
  console.log(`# reloads: ${delays.length}, requests: ${served}, max apply ${Math.max(...delays).toFixed(0)} ms`)
})

test('a stream in flight finishes on the snapshot it began on, across a reload', async () => {
  await reloadTo(config(gw.adminPort, 100, 0))
  const seenByA = a.requests.filter((r) => r.body?.model === 'slow-stream').length
  const streaming = chat(port, { model: 'slow-stream', stream: true, messages: [] })
  // The stream must have begun (on the A snapshot) before the reload: wait until A has it.
  await eventually(() => a.requests.filter((r) => r.body?.model === 'slow-stream').length > seenByA, undefined, 'the stream to reach A')
  await reloadTo(config(gw.adminPort, 0, 100))
  assert.match((await chat()).text, /from B/)
  const r = await streaming
  assert.equal(r.status, 200)
  assert.match(r.text, /"content":"A"/)
  assert.match(r.text, /data: \[DONE\]/)
})

test('unchanged endpoints keep their warm upstream connections across a reload', async () => {
  await reloadTo(config(gw.adminPort, 100, 0))
  await Promise.all(Array.from({ length: 4 }, () => chat()))
  const portsBefore = new Set(a.requests.slice(-4).map((r) => r.remotePort))
  // Change only B's weight: A's pool must survive.
  await reloadTo(config(gw.adminPort, 100, 1))
  const n = a.requests.length
  for (let i = 0; i < 6; i++) await chat()
  const after = a.requests.slice(n).map((r) => r.remotePort)
  assert.ok(after.some((p) => portsBefore.has(p)), `requests after the reload used new connections only: before ${[...portsBefore]}, after ${after}`)
})

test('a listener port is added and removed without a restart', async () => {
  const extraPort = await freePort()
  const extra = `  - { name: extra, address: 127.0.0.1, port: ${extraPort}, route_table: main }`
  gw.writeConfig(config(gw.adminPort, 100, 0, extra))
  await eventually(async () => {
    try {
      return (await chat(extraPort)).status === 200
    } catch {
      return false
    }
  }, undefined, 'the new port to answer')
  gw.writeConfig(config(gw.adminPort, 100, 0))
  await eventually(async () => {
    try {
      await fetch(`http://127.0.0.1:${extraPort}/v1/chat/completions`, { method: 'POST', body: '{}' })
      return false
    } catch {
      return true
    }
  }, undefined, 'the removed port to refuse connections')
  assert.equal((await chat()).status, 200)
})
