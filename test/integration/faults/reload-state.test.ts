/**
 * A hot reload that changes a cluster end to end: the ejection and breaker state of its unchanged
 * endpoints survive it (DESIGN invariant 3).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { startOpenAIUpstream } from '../../support/openai-upstream.js'
import { eventually, startGateway } from '../../support/gateway-process.js'
import { freePort } from '../../support/ports.js'
import { chat, chatCompletions, show } from '../../support/fault-rig.js'

test('a hot reload that adds an endpoint to a cluster keeps the ejection and breaker state of its unchanged endpoints', async (t) => {
  const [A, B, C] = await Promise.all(['A', 'B', 'C'].map((n) => startOpenAIUpstream(n)))
  const port = await freePort()
  const config = (admin: number, withC: boolean) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - cluster: ab
clusters:
  - name: ab
    provider: openai
    endpoints: [{ url: "${A.url}" }, { url: "${B.url}" }${withC ? `, { url: "${C.url}" }` : ''}]
    outlier_detection: { consecutive_5xx: 3, base_ejection_time: 30s, max_ejection_percent: 50 }
    endpoint_circuit_breaker: { consecutive_failures: 3, open_duration: 30s }
`
  const gw = await startGateway((admin) => config(admin, false), { workers: 1 })
  t.after(async () => {
    const code = await gw.stop()
    for (const u of [A, B, C]) await u.close()
    assert.equal(code, 0, gw.output())
  })
  const clusters = async () => (await fetch(`${gw.admin}/clusters`)).json() as Promise<any>
  const stateOf = async (url: string) => {
    const all = await clusters()
    const e = all.ab.endpoints.find((x: any) => x.url === url)
    assert.ok(e, `${url} not in /clusters: ${JSON.stringify(all.ab)}`)
    return Object.values(e.workers)[0] as any
  }
  A.failNext('500', '500', '500')
  for (let i = 0; i < 10 && chatCompletions(A).length < 3; i++) await chat(port)
  const before = await stateOf(A.url)
  assert.deepEqual(before.reasons, ['ejected', 'breaker_open'], JSON.stringify(before))

  const version = (await (await fetch(`${gw.admin}/config`)).json()).version
  gw.writeConfig(config(gw.adminPort, true))
  await eventually(async () => (await (await fetch(`${gw.admin}/config`)).json()).version !== version, undefined, 'the reload')
  const cfg = await (await fetch(`${gw.admin}/config`)).json()
  assert.equal(cfg.last_error, null, JSON.stringify(cfg.last_reload))
  await eventually(async () => (await clusters()).ab.endpoints.length === 3, undefined, 'C to appear in /clusters')

  const after = await stateOf(A.url)
  assert.deepEqual(after.reasons, ['ejected', 'breaker_open'], `A's state after the reload: ${JSON.stringify(after)}\nbefore: ${JSON.stringify(before)}\n${gw.output()}`)
  assert.equal(after.outlier.ejections, 1, JSON.stringify(after))
  assert.equal(after.outlier.until, before.outlier.until, 'the ejection was restarted or shortened by the reload')
  const c = await stateOf(C.url)
  assert.equal(c.eligible, true, JSON.stringify(c))
  const seenByA = chatCompletions(A).length
  const who = new Set<string | undefined>()
  for (let i = 0; i < 9; i++) {
    const r = await chat(port)
    assert.equal(r.status, 200, show(r))
    who.add(r.who)
  }
  assert.deepEqual([...who].sort(), ['B', 'C'])
  assert.equal(chatCompletions(A).length, seenByA, 'the ejected endpoint got traffic after the reload')
  // Sanity: the reload really changed the cluster (readFileSync of the live file).
  assert.match(readFileSync(gw.configPath, 'utf8'), new RegExp(String(C.port)))
})
