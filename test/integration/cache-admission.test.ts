/**
 * Admission through a real gateway process (the default, `seen_twice_when_full`): distinct
 * questions of ~10 KB answers through a 256 KiB memory tier. Until the tier is full every answer is
 * stored; after that one-off questions are neither stored nor evict anything, and admin GET /cache
 * counts them (`admissionRejected`); a question asked a second time is stored and then hits.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let gw: GatewayProcess
let port: number
const REPLY_WORDS = 1600 // "words " × 1600 ≈ 9.6 KB of text per answer
const DISTINCT = 100

before(async () => {
  port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [answers] }
filters:
  - { name: answers, type: cache, config: { ttl: 10m, memory: { max_bytes: 256kb }, max_entry_size: 64kb } }
routes:
  - { name: main, rules: [{ name: chat, cluster: mock }] }
clusters:
  - { name: mock, provider: mock, mock: { reply: "${'words '.repeat(REPLY_WORDS).trim()}", chunks: 1 } }
`)
})

after(async () => {
  await gw?.stop()
})

async function ask(i: number): Promise<string | null> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', temperature: 0, messages: [{ role: 'user', content: `question number ${i}` }] }),
  })
  if (r.status !== 200) throw new Error(`request ${i}: ${r.status} ${await r.text()}`)
  await r.arrayBuffer()
  return r.headers.get('x-switchyard-cache')
}

test('a full tier stores a one-off question only on its second sighting; admin /cache counts the rejected', async (t) => {
  for (let i = 0; i < DISTINCT; i++) assert.equal(await ask(i), 'miss')
  const view = (await (await fetch(`${gw.admin}/cache`)).json()) as any
  const c = view.routes.chat
  const memory = view.tiers.memory
  t.diagnostic(`entries ${memory.entries}, bytes ${memory.bytes}, stored ${c.stored}, rejected ${c.admissionRejected}`)
  // ~26 answers fit: those were stored, the rest rejected, and nothing was evicted for them.
  assert.ok(c.stored > 10 && c.stored < DISTINCT / 2, `stored ${c.stored}`)
  assert.equal(c.stored + c.admissionRejected, DISTINCT)
  assert.deepStrictEqual([memory.entries, memory.evictions], [c.stored, 0])
  // The first answers are still there; the last question, asked again, is stored then, and hits the third time.
  assert.equal(await ask(0), 'hit')
  assert.equal(await ask(DISTINCT - 1), 'miss')
  assert.equal(await ask(DISTINCT - 1), 'hit')
  const after = (await (await fetch(`${gw.admin}/cache`)).json()) as any
  assert.deepStrictEqual([after.routes.chat.stored, after.routes.chat.admissionRejected, after.tiers.memory.evictions > 0], [c.stored + 1, c.admissionRejected, true])
  // The same count on /metrics.
  const metrics = await (await fetch(`${gw.admin}/metrics`)).text()
  assert.match(metrics, new RegExp(`^switchyard_cache_admission_rejected_total\\{route="chat"\\} ${c.admissionRejected}$`, 'm'))
})
