// `node dist/bench/cache.js`: what the response cache costs on a miss and gives on a hit, against row (d) in
// the same run. Additive to the main bench (its own processes and report, bench/CACHE.md), so the table in
// RESULTS.md and its rows stay as they are.
//
// Rows, all one worker pinned to the proxy CPU, in front of the same nginx mock as row (d):
//   (d)        the bench config
//   (d+c 0%)   the same with a `cache` filter (only_when: always), every request a new question: the miss
//              path (key hash, single-flight entry, capture, parse, store, LRU eviction) on every request
//   (d+c 100%) the same filter, one question asked again and again: the hit path (no upstream at all)
// The 0 % rows of (d) and (d+c) send the same varying bodies; the 100 % rows the same fixed body. Rounds are
// interleaved (d, d+c, d, d+c…) and each ratio is the median over rounds, so drift on a shared VM hits both.
// Beside req/s, each row reports the gateway's own CPU time per request (utime+stime from /proc over the
// wrk window): on a box shared with other load, throughput swings with what else runs, while CPU per
// request is what the cache adds to the gateway's work, and its ratio is the throughput ratio a gateway
// bound by its own CPU would see.
//
//   npm run build && node dist/bench/cache.js          # ~1 min; CACHE_SECONDS=8 CACHE_ROUNDS=5 for longer
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePorts, killChildrenOnExit, startChild, stopAll, waitReady, type Child } from './children.js'
import { mockConf, startNginx } from './nginx.js'
import { CHAT_PATH, REQUEST } from './payloads.js'
import { withCache, writeVaryingScript } from './cache-load.js'
import { onProxyCpu, pinSelf, pinningNote } from './pinning.js'
import { CLI, switchyardConfig } from './switchyard.js'
import { cpuSeconds, cpuSecondsByThread, threadDelta } from './proc-stats.js'
import { noiseProbe } from './noise.js'
import { wrk, writePostScript, type WrkResult } from './wrk.js'

const THREAD_RANKS = ['busiest thread', '2nd', '3rd', '4th']
const SECONDS = Number(process.env.CACHE_SECONDS ?? 5)
const ROUNDS = Number(process.env.CACHE_ROUNDS ?? 3)

async function startGateway(dir: string, name: string, yaml: string, admin: number): Promise<Child> {
  const file = join(dir, `${name}.yaml`)
  writeFileSync(file, yaml)
  const child = startChild(name, ...onProxyCpu(process.execPath, [CLI, 'run', '-c', file, '--workers', '1']))
  await waitReady(child, `http://127.0.0.1:${admin}/ready`, { timeoutMs: 20_000 })
  return child
}

async function main(): Promise<void> {
  killChildrenOnExit()
  pinSelf()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-cache-bench-'))
  try {
    const [j1, j2, s1, s2, gwD, adminD, gwC, adminC] = await freePorts(8)
    const mockDir = join(dir, 'mock')
    await startNginx('mock-nginx', mockDir, mockConf(mockDir, { json: [j1, j2], sse: [s1, s2] }), j1)
    const ports = (listen: number, admin: number) => ({ admin, listen, json: [j1, j2], sse: [s1, s2], ttft: [s1, s2] })
    const procD = await startGateway(dir, 'switchyard-d', switchyardConfig(ports(gwD, adminD)), adminD)
    const procC = await startGateway(dir, 'switchyard-cache', withCache(switchyardConfig(ports(gwC, adminC))), adminC)
    const pidOf = (port: number) => (port === gwD ? procD.pid : procC.pid)
    const fixed = writePostScript(dir, 'fixed', REQUEST.json)
    const varying = writeVaryingScript(dir, 'varying')
    const url = (port: number) => `http://127.0.0.1:${port}${CHAT_PATH}`
    const noise: number[] = []
    const run = async (port: number, script: string, label: string): Promise<WrkResult & { cpuUs: number; threads: Map<string, number> }> => {
      const cpu0 = cpuSeconds(pidOf(port))
      const threads0 = cpuSecondsByThread(pidOf(port))
      const probe = noiseProbe(process.pid)
      const r = await wrk(url(port), script, { seconds: SECONDS, connections: 64, threads: 2 })
      const other = probe().otherCores
      noise.push(other)
      const cpuUs = ((cpuSeconds(pidOf(port)) - cpu0) * 1e6) / r.requests
      // By rank: thread ids differ between the gateways, their roles (the worker's JS thread first) do not.
      const busiest = threadDelta(threads0, cpuSecondsByThread(pidOf(port))).map(([, sec]) => (sec * 1e6) / r.requests)
      const threads = new Map(busiest.slice(0, 4).map((us, i) => [THREAD_RANKS[i], us]))
      threads.set('all others', busiest.slice(4).reduce((a, b) => a + b, 0))
      if (r.errors > 0) throw new Error(`${label}: ${r.errors} errors\n${r.raw}`)
      const byThread = [...threads].map(([n, us]) => `${n} ${us.toFixed(1)}`).join(', ')
      console.error(`cache bench: ${label} ${r.rps.toFixed(0)} req/s, ${cpuUs.toFixed(1)} CPU-µs/req (${byThread}), other work ${other.toFixed(2)} cores`)
      return { ...r, cpuUs, threads }
    }
    // Warm-up (JIT, connection pools) for both gateways and both scripts.
    for (const [p, s] of [[gwD, fixed], [gwC, fixed], [gwD, varying], [gwC, varying]] as const) await wrk(url(p), s, { seconds: 2, connections: 64, threads: 2 })
    const missesNow = async () => ((await (await fetch(`http://127.0.0.1:${adminC}/cache`)).json()) as { routes: Record<string, { miss: number }> }).routes.chat?.miss ?? 0
    const missesBefore = await missesNow()
    let varyingRequests = 0
    const rows: Row[] = []
    for (let i = 0; i < ROUNDS; i++) {
      const d0 = await run(gwD, varying, `round ${i + 1} (d) 0%`)
      const c0 = await run(gwC, varying, `round ${i + 1} (d+c) 0%`)
      varyingRequests += c0.requests
      const d100 = await run(gwD, fixed, `round ${i + 1} (d) 100%`)
      const c100 = await run(gwC, fixed, `round ${i + 1} (d+c) 100%`)
      rows.push({ d0: d0.rps, c0: c0.rps, d100: d100.rps, c100: c100.rps, cpu: { d0: d0.cpuUs, c0: c0.cpuUs, d100: d100.cpuUs, c100: c100.cpuUs }, threads: { d0: d0.threads, c0: c0.threads } })
    }
    const view = (await (await fetch(`http://127.0.0.1:${adminC}/cache`)).json()) as { entries: number; bytes: number; routes: Record<string, unknown> }
    // The 0 % rows must really miss: every request of theirs a miss (the 100 % rows add one at most).
    const missShare = (await missesNow() - missesBefore) / varyingRequests
    const text = report(rows, view, missShare, noise)
    writeFileSync(join(fileURLToPath(new URL('../../bench/', import.meta.url)), 'CACHE.md'), text)
    console.log(text)
  } finally {
    await stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

interface Row {
  d0: number
  c0: number
  d100: number
  c100: number
  /** The gateway's CPU-µs per request in each row. */
  cpu: { d0: number; c0: number; d100: number; c100: number }
  /** The 0 % rows' CPU-µs per request by thread name. */
  threads: { d0: Map<string, number>; c0: Map<string, number> }
}

/** Median CPU-µs per request by thread name over the rounds, (d) 0 % beside (d+c) 0 %. */
function threadTable(rows: Row[]): string[] {
  const names = [...new Set(rows.flatMap((r) => [...r.threads.d0.keys(), ...r.threads.c0.keys()]))]
  const med = (name: string, side: 'd0' | 'c0') => median(rows.map((r) => r.threads[side].get(name) ?? 0))
  const shown = names
  return [
    'Where the 0 % rows\' CPU went, by thread, busiest first (median CPU-µs per request over the rounds). The busiest is the',
    'worker\'s JS thread; V8\'s background threads run the concurrent parts of garbage collection and compilation,',
    'outside the worker\'s own profile:',
    '',
    '| thread | (d) 0 % | (d+c) 0 % | difference |',
    '|---|---|---|---|',
    ...shown.map((n) => `| ${n} | ${med(n, 'd0').toFixed(1)} | ${med(n, 'c0').toFixed(1)} | ${(med(n, 'c0') - med(n, 'd0')).toFixed(1)} |`),
    '',
  ]
}

function report(rows: Row[], view: { entries: number; bytes: number; routes: Record<string, unknown> }, missShare: number, noise: number[]): string {
  const miss = median(rows.map((r) => r.c0 / r.d0))
  const hit = median(rows.map((r) => r.c100 / r.d100))
  const cpuMiss = median(rows.map((r) => r.cpu.d0 / r.cpu.c0))
  const cpuHit = median(rows.map((r) => r.cpu.d100 / r.cpu.c100))
  const lines = [
    '# Response cache: miss cost and hit gain against row (d), same run',
    '',
    `- date: ${new Date().toISOString()}; ${ROUNDS} interleaved rounds of ${SECONDS}s wrk (-t2 -c64) per row; gateways --workers 1; ${pinningNote()}`,
    `- (d) = the bench config; (d+c) = the same with \`cache\` on the listener (\`only_when: always\`, memory tier ${process.env.CACHE_MEMORY ?? '64mb'})`,
    '- 0 %: every request a new question (both rows get the same varying bodies); 100 %: the bench request again and again',
    '',
    '| round | (d) 0 % req/s | (d+c) 0 % req/s | ratio | (d) 100 % req/s | (d+c) 100 % req/s | ratio |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r, i) => `| ${i + 1} | ${r.d0.toFixed(0)} | ${r.c0.toFixed(0)} | ${(r.c0 / r.d0).toFixed(3)} | ${r.d100.toFixed(0)} | ${r.c100.toFixed(0)} | ${(r.c100 / r.d100).toFixed(2)} |`),
    '',
    'The gateway\'s CPU time per request (µs), same rounds; ratio = (d) ÷ (d+c): the throughput ratio of a gateway bound by its own CPU.',
    '',
    '| round | (d) 0 % | (d+c) 0 % | ratio | (d) 100 % | (d+c) 100 % | ratio |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r, i) => `| ${i + 1} | ${r.cpu.d0.toFixed(1)} | ${r.cpu.c0.toFixed(1)} | ${(r.cpu.d0 / r.cpu.c0).toFixed(3)} | ${r.cpu.d100.toFixed(1)} | ${r.cpu.c100.toFixed(1)} | ${(r.cpu.d100 / r.cpu.c100).toFixed(2)} |`),
    '',
    ...threadTable(rows),
    `- miss path by CPU per request: (d+c) 0 % at ${(100 * cpuMiss).toFixed(1)} % of (d) (median) — target ≥ 97 %: ${cpuMiss >= 0.97 ? 'PASS' : 'FAIL'}`,
    `- hit path by CPU per request: ${cpuHit.toFixed(2)}× (d) (median) — target ≥ 1.5×: ${cpuHit >= 1.5 ? 'PASS' : 'FAIL'}`,
    `- miss path: (d+c) 0 % at ${(100 * miss).toFixed(1)} % of (d) (median ratio) — target ≥ 97 %: ${miss >= 0.97 ? 'PASS' : 'FAIL'}`,
    `- hit path: (d+c) 100 % at ${hit.toFixed(2)}× (d) (median ratio) — target ≥ 1.5×: ${hit >= 1.5 ? 'PASS' : 'FAIL'}`,
    `- noise: other processes used ${median(noise).toFixed(2)} cores (median over the wrk windows; min ${Math.min(...noise).toFixed(2)}, max ${Math.max(...noise).toFixed(2)}) of the box's 2`,
    `- the (d+c) 0 % rows missed on ${(100 * missShare).toFixed(1)} % of their requests (must be ~100 %)`,
    `- after the run the cache held ${view.entries} entries in ${(view.bytes / 1048576).toFixed(1)} MiB; counts: ${JSON.stringify(view.routes)}`,
    '',
  ]
  return lines.join('\n')
}

main().catch((e) => {
  console.error(e)
  void stopAll().finally(() => process.exit(1))
})
