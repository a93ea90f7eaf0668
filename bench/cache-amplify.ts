// `node dist/bench/cache-amplify.js`: does the socket bench amplify a small per-request cost?
// The cache's own code costs ≈4.8 µs per miss in a CPU profile, but the worker's busy time under wrk grows by
// ≈28 µs (bench/RESULTS.md, issue 16). One explanation: with the gateway pinned to CPU 1 of a 2-vCPU VM, a
// slower gateway leaves wrk and nginx on CPU 0 idle more often, so more of its sends must wake them (an IPI
// and a scheduler round trip, charged partly to the sender), and each request then costs the gateway more
// than the code it added. This measures that directly with a cost that is known and is nothing else:
//
//   (d+s0)  row (d) with a `type: plugin` filter whose onRequest reads the request's x-bench-spin header, 0 here
//   (d+sN)  the same gateway process, the header saying N: the plugin spins N µs (process.hrtime) in onRequest,
//           N = 1, 2, 4 (AMP_SPINS): pure CPU, no allocation. One process for all spin rows, so they differ by
//           the spin alone (not by which process got luckier JIT, memory placement or scheduling)
//   (d)     the bench config;  (d+c) the same with the cache filter, every request a new question (the miss),
//           its 64 MiB tier filled first (admission then rejects the one-off keys); (d+c always) the same with
//           `admission: always` (every answer stored, the oldest evicted: the miss path before admission)
//   (d+p4)  row (d) with a plugin whose four hooks do nothing (bench/switchyard.ts NOOP_PLUGIN): the response
//           hooks' own cost on the response path, which the cache filter pays and the spin plugin does not
//
// Closed loop (wrk -t2 -c64, rounds interleaved): amplification = (CPU/req of d+sN − CPU/req of d+s0) ÷ N.
// A factor near 1 means the bench charges what the code costs; well above 1, it amplifies.
// Open loop (a fixed offered rate below every row's capacity, the same for all): the same CPU per request
// without the closed loop's feedback (the gateway is never the bottleneck, so how busy it is does not change
// how the client and the mock behave), and (d+c) − (d) there is the miss path's cost on its own.
//
//   npm run build && node dist/bench/cache-amplify.js   # AMP_SECONDS=5 AMP_ROUNDS=2 AMP_SPINS=1,2,4 AMP_RATE=<req/s> (default: ½ the slowest closed-loop row)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Pool, type Dispatcher } from 'undici'
import { freePorts, killChildrenOnExit, startChild, stopAll, waitReady, type Child } from './children.js'
import { mockConf, startNginx } from './nginx.js'
import { AUTH_HEADER, CHAT_PATH, MODEL } from './payloads.js'
import { withCache, writeVaryingScript } from './cache-load.js'
import { onProxyCpu, pinSelf, pinningNote } from './pinning.js'
import { CLI, NOOP_PLUGIN, switchyardConfig } from './switchyard.js'
import { cpuSeconds } from './proc-stats.js'
import { noiseProbe, waitQuiet } from './noise.js'
import { wrk } from './wrk.js'

const SECONDS = Number(process.env.AMP_SECONDS ?? 5)
const ROUNDS = Number(process.env.AMP_ROUNDS ?? 2)
/** AMP_SPINS=1,2,4,8: the spins measured (µs). */
const SPINS_US = (process.env.AMP_SPINS ?? '1,2,4').split(',').map(Number)

/** A plugin whose onRequest spins as many µs of pure CPU as the request's x-bench-spin header says (none: 0), and does nothing else. */
const SPIN_PLUGIN = `export function create() {
  return {
    onRequest(ctx) {
      const us = Number(ctx.headers['x-bench-spin'] ?? 0)
      if (!(us > 0)) return
      const end = process.hrtime.bigint() + BigInt(us * 1000)
      while (process.hrtime.bigint() < end) {}
    },
  }
}
`

/** The varying wrk script with an x-bench-spin header of `us`. */
function spinScript(dir: string, us: number): string {
  const file = writeVaryingScript(dir, `varying-spin-${us}`)
  const text = readFileSync(file, 'utf8')
  const out = text.replace('wrk.headers["Content-Type"] = "application/json"\n', `wrk.headers["Content-Type"] = "application/json"\nwrk.headers["x-bench-spin"] = "${us}"\n`)
  if (out === text) throw new Error('the varying script changed shape: cannot add the spin header')
  writeFileSync(file, out)
  return file
}

interface Gateway { readonly label: string; readonly port: number; readonly child: Child }
/** One measured row: a gateway and the load sent to it (its wrk script; the spin header the open loop sends). */
interface Row { readonly label: string; readonly gateway: Gateway; readonly script: string; readonly spinUs: number }

async function startGateway(dir: string, label: string, yaml: string, port: number, admin: number): Promise<Gateway> {
  const file = join(dir, `${label.replace(/[^a-z0-9]+/gi, '_')}.yaml`)
  writeFileSync(file, yaml)
  const child = startChild(label, ...onProxyCpu(process.execPath, [CLI, 'run', '-c', file, '--workers', '1']))
  await waitReady(child, `http://127.0.0.1:${admin}/ready`, { timeoutMs: 20_000 })
  return { label, port, child }
}

/** A new question each time (as the wrk script's): the cache row misses on every request. */
let asked = 0
const RUN = `${Date.now()}`
function question(): string {
  return JSON.stringify({ model: MODEL.json, messages: [{ role: 'user', content: `Say hello to the benchmark in one short sentence. #open-${RUN}-${asked++}` }] })
}

/**
 * Sends `rate` requests a second for `seconds` (each due at t0 + i/rate, sent from a timer and after each
 * answer), whatever the gateway does: the offered load is fixed. Returns how many were answered.
 */
async function fixedRate(port: number, rate: number, seconds: number, spinUs: number): Promise<{ ok: number; errors: number; sent: number; late: number }> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 128 })
  const headers = ['content-type', 'application/json', ...AUTH_HEADER, 'x-bench-spin', String(spinUs)]
  const total = Math.round(rate * seconds)
  const interval = 1000 / rate
  let ok = 0
  let errors = 0
  let done = 0
  let next = 0
  let late = 0
  let finish!: () => void
  const finished = new Promise<void>((r) => (finish = r))
  const t0 = performance.now() + 20
  const pump = () => {
    const now = performance.now()
    while (next < total && t0 + next * interval <= now) {
      // More than 10 ms behind schedule: the generator, not the gateway, set this request's time.
      if (now - (t0 + next * interval) > 10) late++
      send()
      next++
    }
  }
  const end = (good: boolean) => {
    if (good) ok++
    else errors++
    if (++done === total) finish()
  }
  const send = () => {
    let status = 0
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(_c, s) { status = s },
      onResponseData() {},
      onResponseEnd() { end(status === 200); queueMicrotask(pump) },
      onResponseError() { end(false) },
    }
    pool.dispatch({ method: 'POST', path: CHAT_PATH, headers, body: question() }, handler)
  }
  const tick = () => {
    pump()
    if (next < total) setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()))
  }
  setTimeout(tick, 20)
  const deadline = setTimeout(finish, seconds * 1000 + 10_000)
  await finished
  clearTimeout(deadline)
  await pool.destroy()
  return { ok, errors: errors + (total - done), sent: next, late }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function main(): Promise<void> {
  killChildrenOnExit()
  pinSelf()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-amplify-bench-'))
  try {
    const ports = await freePorts(4 + 2 * 5)
    const [j1, j2, s1, s2] = ports
    const mockDir = join(dir, 'mock')
    await startNginx('mock-nginx', mockDir, mockConf(mockDir, { json: [j1, j2], sse: [s1, s2] }), j1)
    let p = 4
    const config = () => {
      const listen = ports[p++]
      const admin = ports[p++]
      return { listen, admin, yaml: switchyardConfig({ admin, listen, json: [j1, j2], sse: [s1, s2], ttft: [s1, s2] }), plugin: switchyardConfig({ admin, listen, json: [j1, j2], sse: [s1, s2], ttft: [s1, s2] }, 'plugin') }
    }
    const d = config()
    const gwD = await startGateway(dir, '(d)', d.yaml, d.listen, d.admin)
    const c = config()
    const gwC = await startGateway(dir, '(d+c)', withCache(c.yaml), c.listen, c.admin)
    const ca = config()
    const always = withCache(ca.yaml).replace('only_when: always,', 'only_when: always, admission: always,')
    if (!always.includes('admission: always')) throw new Error('cache config changed shape: cannot set admission')
    const gwCA = await startGateway(dir, '(d+c always)', always, ca.listen, ca.admin)
    const s = config()
    writeFileSync(join(dir, 'spin.mjs'), SPIN_PLUGIN)
    const spinYaml = s.plugin.replace('./noop-plugin.mjs', './spin.mjs')
    if (spinYaml === s.plugin) throw new Error('bench config changed shape: cannot add the spin plugin')
    const gwS = await startGateway(dir, '(d+s)', spinYaml, s.listen, s.admin)
    // The same plugin machinery with all four hooks (no-ops): what having onResponse / onChunk / onComplete
    // installed costs the response path, which the cache filter has and the spin plugin has not.
    const h = config()
    writeFileSync(join(dir, 'noop-plugin.mjs'), NOOP_PLUGIN)
    const gwH = await startGateway(dir, '(d+p4)', h.plugin, h.listen, h.admin)
    const varying = writeVaryingScript(dir, 'varying')
    const gateways: Row[] = [
      { label: '(d+p4)', gateway: gwH, script: varying, spinUs: 0 },
      { label: '(d)', gateway: gwD, script: varying, spinUs: 0 },
      { label: '(d+c)', gateway: gwC, script: varying, spinUs: 0 },
      { label: '(d+c always)', gateway: gwCA, script: varying, spinUs: 0 },
      ...[0, ...SPINS_US].map((us) => ({ label: `(d+s${us})`, gateway: gwS, script: spinScript(dir, us), spinUs: us })),
    ]
    const url = (g: Row) => `http://127.0.0.1:${g.gateway.port}${CHAT_PATH}`
    for (const g of gateways) await wrk(url(g), g.script, { seconds: 2, connections: 64, threads: 2 }) // JIT, pools
    // Both cache rows measured with their tier full (the steady state of a miss-only load): (d+c) then rejects
    // one-off keys (admission), (d+c always) stores each and evicts the oldest.
    for (const [g, admin] of [[gwC, c.admin], [gwCA, ca.admin]] as const) {
      for (let i = 0; ; i++) {
        const view = (await (await fetch(`http://127.0.0.1:${admin}/cache`)).json()) as { evictions: number; routes: Record<string, { admissionRejected?: number }> }
        if ((view.routes.chat?.admissionRejected ?? 0) > 0 || view.evictions > 0) break
        if (i === 30) throw new Error(`${g.label}: the memory tier did not fill`)
        await wrk(`http://127.0.0.1:${g.port}${CHAT_PATH}`, varying, { seconds: 2, connections: 64, threads: 2 })
      }
    }

    const noise: number[] = []
    const closed = new Map<string, { rps: number[]; cpu: number[] }>(gateways.map((g) => [g.label, { rps: [], cpu: [] }]))
    const quiet = async () => { await waitQuiet(process.pid, (other) => console.error(`amplify: waiting for a quiet box (other work ${other.toFixed(2)} cores)`)) }
    for (let round = 0; round < ROUNDS; round++) {
      await quiet()
      for (const g of gateways) {
        const cpu0 = cpuSeconds(g.gateway.child.pid)
        const probe = noiseProbe(process.pid)
        const r = await wrk(url(g), g.script, { seconds: SECONDS, connections: 64, threads: 2 })
        noise.push(probe().otherCores)
        if (r.errors > 0) throw new Error(`${g.label}: ${r.errors} errors\n${r.raw}`)
        const cpuUs = ((cpuSeconds(g.gateway.child.pid) - cpu0) * 1e6) / r.requests
        closed.get(g.label)!.rps.push(r.rps)
        closed.get(g.label)!.cpu.push(cpuUs)
        console.error(`amplify: closed round ${round + 1} ${g.label} ${r.rps.toFixed(0)} req/s, ${cpuUs.toFixed(1)} CPU-µs/req`)
      }
    }
    const slowest = Math.min(...[...closed.values()].map((v) => median(v.rps)))
    const rate = Number(process.env.AMP_RATE ?? Math.floor(slowest / 2 / 100) * 100)
    const open = new Map<string, { cpu: number[]; ok: number[]; late: number[] }>(gateways.map((g) => [g.label, { cpu: [], ok: [], late: [] }]))
    for (let round = 0; round < ROUNDS; round++) {
      await quiet()
      for (const g of gateways) {
        const cpu0 = cpuSeconds(g.gateway.child.pid)
        const probe = noiseProbe(process.pid)
        const r = await fixedRate(g.gateway.port, rate, SECONDS, g.spinUs)
        noise.push(probe().otherCores)
        if (r.errors > 0) throw new Error(`${g.label}: ${r.errors} errors at ${rate} req/s`)
        const cpuUs = ((cpuSeconds(g.gateway.child.pid) - cpu0) * 1e6) / r.ok
        open.get(g.label)!.cpu.push(cpuUs)
        open.get(g.label)!.ok.push(r.ok / SECONDS)
        open.get(g.label)!.late.push(r.late / r.sent)
        console.error(`amplify: open round ${round + 1} ${g.label} ${rate} req/s offered, ${cpuUs.toFixed(1)} CPU-µs/req, ${(100 * r.late / r.sent).toFixed(1)} % sent >10 ms late`)
      }
    }
    console.log(report(gateways.map((g) => g.label), closed, open, rate, noise))
  } finally {
    await stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Per round, the least-squares slope (through the origin) of CPU/req(d+sN) − CPU/req(d+s0) over N; the median over rounds. */
function slope(rows: Map<string, { cpu: number[] }>, _labels: string[]): number {
  const per: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const base = rows.get('(d+s0)')!.cpu[r]
    let xy = 0
    let xx = 0
    for (const us of SPINS_US) {
      xy += us * (rows.get(`(d+s${us})`)!.cpu[r] - base)
      xx += us * us
    }
    per.push(xy / xx)
  }
  return median(per)
}

function report(labels: string[], closed: Map<string, { rps: number[]; cpu: number[] }>, open: Map<string, { cpu: number[]; ok: number[]; late: number[] }>, rate: number, noise: number[]): string {
  const cc = (l: string) => median(closed.get(l)!.cpu)
  const oc = (l: string) => median(open.get(l)!.cpu)
  const lines = [
    `# Amplification of a known per-request cost, closed and open loop`,
    '',
    `- date: ${new Date().toISOString()}; ${ROUNDS} interleaved rounds of ${SECONDS}s per row; gateways --workers 1; ${pinningNote()}`,
    `- closed loop: wrk -t2 -c64, the cache bench's varying bodies; open loop: ${rate} req/s offered (fixed), the same kind of bodies, undici from the harness`,
    '',
    '| row | closed req/s | closed CPU-µs/req | open CPU-µs/req | open: share sent >10 ms late |',
    '|---|---|---|---|---|',
    ...labels.map((l) => `| ${l} | ${median(closed.get(l)!.rps).toFixed(0)} | ${cc(l).toFixed(1)} (${closed.get(l)!.cpu.map((x) => x.toFixed(1)).join(', ')}) | ${oc(l).toFixed(1)} (${open.get(l)!.cpu.map((x) => x.toFixed(1)).join(', ')}) | ${(100 * median(open.get(l)!.late)).toFixed(1)} % |`),
    '',
    'Amplification = (CPU/req of (d+sN) − CPU/req of (d+s0)) ÷ N, medians over the rounds:',
    '',
    '| spin N | closed: added CPU-µs/req | closed factor | open: added CPU-µs/req | open factor |',
    '|---|---|---|---|---|',
    ...SPINS_US.map((us) => {
      const dc = cc(`(d+s${us})`) - cc('(d+s0)')
      const dopen = oc(`(d+s${us})`) - oc('(d+s0)')
      return `| ${us} µs | ${dc.toFixed(1)} | ${(dc / us).toFixed(2)} | ${dopen.toFixed(1)} | ${(dopen / us).toFixed(2)} |`
    }),
    '',
    `- least-squares slope of added CPU-µs/req over the spin, through (d+s0), per round then median: closed ${slope(closed, labels).toFixed(2)}, open ${slope(open, labels).toFixed(2)} (1.00 = the bench charges exactly what the code costs)`,
    `- the miss path with admission: always ((d+c always) − (d)): closed loop +${(cc('(d+c always)') - cc('(d)')).toFixed(1)} CPU-µs/req (${(100 * cc('(d)') / cc('(d+c always)')).toFixed(1)} % of (d)); open loop +${(oc('(d+c always)') - oc('(d)')).toFixed(1)} (${(100 * oc('(d)') / oc('(d+c always)')).toFixed(1)} % of (d))`,
    `- the miss path, default admission, tier full ((d+c) − (d)): closed loop +${(cc('(d+c)') - cc('(d)')).toFixed(1)} CPU-µs/req (${(100 * cc('(d)') / cc('(d+c)')).toFixed(1)} % of (d) by CPU/req); open loop at ${rate} req/s +${(oc('(d+c)') - oc('(d)')).toFixed(1)} CPU-µs/req (${(100 * oc('(d)') / oc('(d+c)')).toFixed(1)} % of (d))`,
    `- the plugin machinery, onRequest only ((d+s0) − (d)): closed +${(cc('(d+s0)') - cc('(d)')).toFixed(1)}, open +${(oc('(d+s0)') - oc('(d)')).toFixed(1)} CPU-µs/req; all four hooks, no-ops ((d+p4) − (d)): closed +${(cc('(d+p4)') - cc('(d)')).toFixed(1)}, open +${(oc('(d+p4)') - oc('(d)')).toFixed(1)}`,
    `- noise: other processes used ${median(noise).toFixed(2)} cores (median; min ${Math.min(...noise).toFixed(2)}, max ${Math.max(...noise).toFixed(2)})`,
    '',
  ]
  return lines.join('\n')
}

main().catch((e) => {
  console.error(e)
  void stopAll().finally(() => process.exit(1))
})
