// `node --expose-gc dist/bench/cache-inprocess.js`: the cache filter's cost per miss (and per hit) without
// sockets, so other load on the box hardly moves it. Two snapshots of the same config with the mock provider
// (answered in-process), one with a `cache` filter (`only_when: always`), dispatched socket-free with the same
// request bodies; interleaved rounds, each timed by this thread's CPU time (process.cpuUsage: one thread
// runs here). 0 %: every request a new question; 100 %: one question again and again.
//
//   npm run build && node --expose-gc dist/bench/cache-inprocess.js     # CACHE_IP_ROUNDS=8 CACHE_IP_N=20000
import { compileConfig } from '../src/compiler/index.js'
import { buildSnapshot } from '../src/runtime/build/snapshot.js'
import { createStores } from '../src/runtime/stores.js'
import { dispatch, type IncomingRequest } from '../src/runtime/http/dispatch.js'
import type { Snapshot } from '../src/runtime/types.js'
import { MemoryDownstream } from '../test/support/memory-downstream.js'

const ROUNDS = Number(process.env.CACHE_IP_ROUNDS ?? 8)
const N = Number(process.env.CACHE_IP_N ?? 20000)

const yaml = (cache: boolean) => `
listeners:
  - { name: public, port: 8080, route_table: main${cache ? ', filters: [answers]' : ''} }
routes:
  - name: main
    rules:
      - { name: chat, match: { path: { exact: /v1/chat/completions } }, cluster: mock }
clusters:
  - { name: mock, provider: mock, mock: { reply: "Hello, benchmark! This reply is fixed so every row moves the same bytes." } }
${cache ? 'filters:\n  - { name: answers, type: cache, config: { only_when: always, ttl: 10m, memory: { max_bytes: 64mb } } }\n' : ''}`

function snapshot(cache: boolean): Snapshot {
  const r = compileConfig([{ name: 'bench.yaml', text: yaml(cache) }], { source: 'bench', env: {} })
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics))
  return buildSnapshot(r.ir, createStores())
}

const HEADERS: [string, string][] = [['content-type', 'application/json'], ['authorization', 'Bearer sk-bench']]

/**
 * A request's headers built as the uWS server builds them (an empty object, then one property per
 * header: shapes shared along V8's transition tree). Not `{ ...HEADERS }`: a spread copy's map has
 * no transitions, so the x-request-id dispatch adds made a new map per request (~0.45 µs) and every
 * header lookup after it megamorphic — in both rows, and most in the cache's header reads.
 */
function headersOf(): Record<string, string> {
  const h: Record<string, string> = {}
  for (let i = 0; i < HEADERS.length; i++) h[HEADERS[i][0]] = HEADERS[i][1]
  return h
}

async function run(snap: Snapshot, bodies: readonly Buffer[]): Promise<number> {
  const listener = snap.listeners.get(8080)!
  globalThis.gc?.()
  const t0 = process.cpuUsage()
  for (let i = 0; i < bodies.length; i++) {
    const incoming: IncomingRequest = { method: 'POST', path: '/v1/chat/completions', query: '', headers: headersOf(), body: bodies[i] }
    const down = new MemoryDownstream()
    dispatch(snap, listener, incoming, down)
    if (!down.ended) await down.done
    if (down.status !== 200) throw new Error(`status ${down.status}: ${Buffer.concat(down.chunks.map((c) => c.data)).toString()}`)
  }
  const t = process.cpuUsage(t0)
  return (t.user + t.system) / bodies.length
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function main(): Promise<void> {
  const plain = snapshot(false)
  const cached = snapshot(true)
  let serial = 0
  const distinct = () => Array.from({ length: N }, () => Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Say hello to the benchmark in one short sentence. #${serial++}` }] })))
  const same = Array.from({ length: N }, () => Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello to the benchmark in one short sentence.' }] })))
  await run(plain, distinct())
  await run(cached, distinct())
  await run(cached, same)
  // CACHE_IP_PROFILE=1 (under --cpu-prof): only the misses, so the profile is the miss path's;
  // CACHE_IP_PROFILE=plain: only row (d) with the same bodies, the profile to subtract.
  const profile = process.env.CACHE_IP_PROFILE
  if (profile === '1' || profile === 'plain') {
    for (let i = 0; i < ROUNDS; i++) console.error(`${profile === '1' ? 'miss' : '(d)'} round ${i + 1}: ${(await run(profile === '1' ? cached : plain, distinct())).toFixed(2)} µs/req`)
    return
  }
  const miss: [number, number][] = []
  const hit: [number, number][] = []
  for (let i = 0; i < ROUNDS; i++) {
    const bodies = distinct()
    const d0 = await run(plain, bodies)
    const c0 = await run(cached, bodies)
    const d100 = await run(plain, same)
    const c100 = await run(cached, same)
    miss.push([d0, c0])
    hit.push([d100, c100])
    console.error(`round ${i + 1}: (d) ${d0.toFixed(2)} (d+c) 0 % ${c0.toFixed(2)} µs/req | (d) ${d100.toFixed(2)} (d+c) 100 % ${c100.toFixed(2)} µs/req`)
  }
  const m = median(miss.map(([d, c]) => c - d))
  const mr = median(miss.map(([d, c]) => d / c))
  const h = median(hit.map(([d, c]) => d / c))
  console.log(`in-process, ${ROUNDS} interleaved rounds of ${N} requests: (d) ${median(miss.map(([d]) => d)).toFixed(2)} µs/req; miss +${m.toFixed(2)} µs (CPU ratio (d)/(d+c) ${mr.toFixed(3)}); hit ${h.toFixed(2)}× (d) by CPU per request`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
