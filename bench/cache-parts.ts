// `node --expose-gc dist/bench/cache-parts.js`: the parts of a cache miss measured alone, each against the
// version it replaced, interleaved in one process (rounds alternate old / new, medians reported), so other
// load on the box moves both alike. Nanoseconds per operation, wall time of this one thread.
//   canonical JSON: the first canonicalJson (test/support/canonical-json-oracle.ts) vs key.ts's, on the
//     bench's one-message chat body and on a 5-turn body with tools and a long system prompt
//   store: encodeEntry into a Buffer then MemoryTier.set (the copy) vs CacheStore.putEntry (in place), a
//     300-byte answer in 3 pieces, into a 64 MiB tier that fills and evicts like the miss bench's
//
//   npm run build && node --expose-gc dist/bench/cache-parts.js      # CACHE_PARTS_ROUNDS=9
import { canonicalJson } from '../src/runtime/cache/key.js'
import { CacheStore } from '../src/runtime/cache/cache-store.js'
import { encodeEntry, type EntryDraft } from '../src/runtime/cache/entry-header.js'
import { canonicalJsonOracle } from '../test/support/canonical-json-oracle.js'

const ROUNDS = Number(process.env.CACHE_PARTS_ROUNDS ?? 9)

const small = JSON.parse(JSON.stringify({ messages: [{ role: 'user', content: 'Say hello to the benchmark in one short sentence. #12345' }] }))
const big = JSON.parse(JSON.stringify({
  temperature: 0, max_tokens: 512,
  messages: [
    { role: 'system', content: 'You are a helpful assistant. '.repeat(20) },
    { role: 'user', content: 'What is the weather in Paris? '.repeat(5) },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 12, "sky": "cloudy"}' },
    { role: 'user', content: 'And tomorrow?' },
  ],
  tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string', description: 'The city' }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city'] } } }],
}))

function nsPer(n: number, f: (i: number) => void): number {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) f(i)
  return Number(process.hrtime.bigint() - t0) / n
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const answer = Buffer.from(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello, benchmark! This reply is fixed so every row moves the same bytes.' }, finish_reason: 'stop' }], usage: { prompt_tokens: 12, completion_tokens: 15, total_tokens: 27 } }).padEnd(300))
const pieces = [answer.subarray(0, 100), answer.subarray(100, 200), answer.subarray(200)]
const oldStore = new CacheStore(64 * 1024 * 1024)
const newStore = new CacheStore(64 * 1024 * 1024)
let serial = 0
const draftOf = (): EntryDraft => {
  const now = Date.now()
  return { v: 2, storedAt: now, expiresAt: now + 600_000, route: 'chat', tenant: 'listener:public', op: 'chat', streamed: false, body: pieces, size: answer.length }
}
const keyOf = (i: number) => `k${i}-${serial}-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`.slice(0, 43)

const rows: Record<string, number[]> = {}
const add = (name: string, v: number) => (rows[name] ??= []).push(v)
let sink = 0
for (let r = 0; r < ROUNDS; r++) {
  globalThis.gc?.()
  add('canonical, small body: old', nsPer(200_000, () => (sink += canonicalJsonOracle(small).length)))
  add('canonical, small body: new', nsPer(200_000, () => (sink += canonicalJson(small).length)))
  add('canonical, big body: old', nsPer(20_000, () => (sink += canonicalJsonOracle(big).length)))
  add('canonical, big body: new', nsPer(20_000, () => (sink += canonicalJson(big).length)))
  serial++
  globalThis.gc?.()
  add('store 300 B: encode + copy', nsPer(100_000, (i) => {
    const d = draftOf()
    const b = encodeEntry(d)!
    if (b.length <= 1 << 20) oldStore.memory.set(keyOf(i), b)
  }))
  add('store 300 B: in place', nsPer(100_000, (i) => void newStore.putEntry(keyOf(i), draftOf(), 1 << 20)))
}
if (sink === 0) console.log('')
for (const [name, xs] of Object.entries(rows)) console.log(`${name.padEnd(30)} ${median(xs).toFixed(0).padStart(6)} ns (rounds ${xs.map((x) => x.toFixed(0)).join(' ')})`)
