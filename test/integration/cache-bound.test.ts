/**
 * The memory tier's byte bound under load: 10 000 distinct cacheable requests of ~8 KB answers
 * each (80 MB if all were kept) through a gateway process whose memory tier is 2 MB. The entry
 * count and bytes stay within the bound, the LRU evicts the rest, the process's resident memory
 * grows by far less than the answers would take, and the newest entries still hit.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let gw: GatewayProcess
let port: number
const REPLY_WORDS = 1600 // "words " × 1600 ≈ 9.6 KB of text per answer
const MAX_BYTES = 2 * 1024 * 1024
const DISTINCT = 10_000

before(async () => {
  port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [answers] }
filters:
  # admission: always — this test is about the ring's bound while every answer is stored and the oldest
  # evicted; the default (seen_twice_when_full) would stop storing one-off questions once the tier is full
  # (test/integration/cache-admission.test.ts).
  - { name: answers, type: cache, config: { ttl: 10m, memory: { max_bytes: 2mb }, max_entry_size: 64kb, admission: always } }
routes:
  - { name: main, rules: [{ name: chat, cluster: mock }] }
clusters:
  - { name: mock, provider: mock, mock: { reply: "${'words '.repeat(REPLY_WORDS).trim()}", chunks: 1 } }
`)
})

after(async () => {
  await gw?.stop()
})

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m![1]) * 1024
}

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

/** Runs asks for [from, to) with `concurrency` in flight. */
async function askRange(from: number, to: number, concurrency = 16): Promise<void> {
  let next = from
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < to) await ask(next++)
  }))
}

test('10 000 distinct entries stay within the byte bound; RSS grows by far less than they would take', async (t) => {
  await askRange(0, 1000) // warm up: JIT, pools, the LRU filled to its bound once
  const rssBefore = rssBytes(gw.child.pid!)
  await askRange(1000, DISTINCT)
  const rssAfter = rssBytes(gw.child.pid!)
  const view = (await (await fetch(`${gw.admin}/cache`)).json()) as any
  const memory = view.tiers.memory
  assert.equal(view.routes.chat.miss, DISTINCT)
  assert.equal(view.routes.chat.stored, DISTINCT)
  assert.ok(memory.bytes <= MAX_BYTES, `bytes ${memory.bytes} > ${MAX_BYTES}`)
  assert.ok(memory.entries > 0 && memory.entries * REPLY_WORDS * 6 <= MAX_BYTES, `${memory.entries} entries of ~${REPLY_WORDS * 6} bytes in ${MAX_BYTES}`)
  assert.equal(memory.evictions, DISTINCT - memory.entries)
  t.diagnostic(`entries ${memory.entries}, bytes ${memory.bytes}, evictions ${memory.evictions}, RSS ${(rssBefore / 1e6).toFixed(1)} → ${(rssAfter / 1e6).toFixed(1)} MB`)
  const kept = DISTINCT * REPLY_WORDS * 6
  assert.ok(rssAfter - rssBefore < kept / 2, `RSS grew ${((rssAfter - rssBefore) / 1e6).toFixed(1)} MB over 9 000 answers (${(kept / 1e6).toFixed(0)} MB if kept)`)
  // The most recent entries are the ones kept.
  assert.equal(await ask(DISTINCT - 1), 'hit')
  assert.equal(await ask(0), 'miss')
})
