// `node dist/bench/cache-profile.js`: where a cache miss's time goes. Row (d) and row (d+c) (bench/cache.ts)
// each run the 0 % load (every request a new question) under `--cpu-prof`; the report gives each one's
// worker busy time and GC time per request and the functions whose self time per request grew the most
// from (d) to (d+c): the miss path's cost, attributed, and robust to other load on the box in a way
// throughput is not. Writes nothing to the tree; the numbers go to stdout (recorded in bench/RESULTS.md).
//
//   npm run build && node dist/bench/cache-profile.js     # CACHE_PROFILE_SECONDS=10 by default
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePorts, killChildrenOnExit, startChild, stopAll, stopChild, waitReady } from './children.js'
import { mockConf, startNginx } from './nginx.js'
import { CHAT_PATH } from './payloads.js'
import { onProxyCpu, pinSelf, pinningNote } from './pinning.js'
import { CLI, switchyardConfig } from './switchyard.js'
import { wrk } from './wrk.js'
import { withCache, writeVaryingScript } from './cache-load.js'

const SECONDS = Number(process.env.CACHE_PROFILE_SECONDS ?? 10)

interface Profile { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples: number[]; timeDeltas: number[] }

/** Self time (µs) per function of the busiest thread's profile (the worker), idle left out. */
function selfTimes(dir: string): { busyUs: number; byFn: Map<string, number> } {
  let best: { busyUs: number; byFn: Map<string, number> } | undefined
  for (const f of readdirSync(dir)) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile
    const nodes = new Map(p.nodes.map((n) => [n.id, n.callFrame]))
    const byFn = new Map<string, number>()
    let busyUs = 0
    for (let i = 0; i < p.samples.length; i++) {
      const cf = nodes.get(p.samples[i])!
      if (cf.functionName === '(idle)' || cf.functionName === '(program)') continue
      const dt = p.timeDeltas[i] ?? 0
      busyUs += dt
      const file = cf.url.replace(/^.*\/(dist\/src|node_modules)\//, '')
      const name = file === '' ? cf.functionName : `${cf.functionName || '(anonymous)'} ${file}:${cf.lineNumber + 1}`
      byFn.set(name, (byFn.get(name) ?? 0) + dt)
    }
    if (!best || busyUs > best.busyUs) best = { busyUs, byFn }
  }
  return best!
}

async function profiled(dir: string, name: string, yaml: string, port: number, admin: number, script: string): Promise<{ requests: number; busyUs: number; byFn: Map<string, number> }> {
  const file = join(dir, `${name}.yaml`)
  writeFileSync(file, yaml)
  const profDir = join(dir, `prof-${name}`)
  const gw = startChild(name, ...onProxyCpu(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, CLI, 'run', '-c', file, '--workers', '1']))
  await waitReady(gw, `http://127.0.0.1:${admin}/ready`, { timeoutMs: 20_000 })
  const url = `http://127.0.0.1:${port}${CHAT_PATH}`
  const warm = await wrk(url, script, { seconds: 3, connections: 64, threads: 2 }) // JIT warm-up, profiled too (both alike)
  const r = await wrk(url, script, { seconds: SECONDS, connections: 64, threads: 2 })
  if (r.errors > 0) throw new Error(`${name}: ${r.errors} errors\n${r.raw}`)
  await stopChild(gw, 15_000)
  return { requests: warm.requests + r.requests, ...selfTimes(profDir) }
}

async function main(): Promise<void> {
  killChildrenOnExit()
  pinSelf()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-cache-profile-'))
  try {
    const [j1, j2, s1, s2, listen, admin] = await freePorts(6)
    const mockDir = join(dir, 'mock')
    await startNginx('mock-nginx', mockDir, mockConf(mockDir, { json: [j1, j2], sse: [s1, s2] }), j1)
    const config = switchyardConfig({ admin, listen, json: [j1, j2], sse: [s1, s2], ttft: [s1, s2] })
    const script = writeVaryingScript(dir, 'varying')
    const d = await profiled(dir, 'switchyard-d', config, listen, admin, script)
    const c = await profiled(dir, 'switchyard-cache', withCache(config), listen, admin, script)
    const per = (x: { requests: number }, us: number) => us / x.requests
    const gc = (x: { byFn: Map<string, number> }) => x.byFn.get('(garbage collector)') ?? 0
    const names = new Set([...d.byFn.keys(), ...c.byFn.keys()])
    const deltas = [...names].map((n) => [n, per(c, c.byFn.get(n) ?? 0) - per(d, d.byFn.get(n) ?? 0), per(c, c.byFn.get(n) ?? 0)] as const).sort((a, b) => b[1] - a[1])
    const cacheFns = [...c.byFn].filter(([n]) => /runtime\/(cache\/|filters\/cache)|lru-cache/.test(n)).sort((a, b) => b[1] - a[1])
    const lines = [
      `# cache miss profile (${new Date().toISOString()}; ${SECONDS}s + 3s warm-up of wrk -t2 -c64 per config, --workers 1; ${pinningNote()})`,
      '',
      `| config | requests | worker busy µs/req | GC µs/req |`,
      `|---|---|---|---|`,
      `| (d) | ${d.requests} | ${per(d, d.busyUs).toFixed(2)} | ${per(d, gc(d)).toFixed(2)} |`,
      `| (d+c) 0 % | ${c.requests} | ${per(c, c.busyUs).toFixed(2)} | ${per(c, gc(c)).toFixed(2)} |`,
      '',
      `miss cost: +${(per(c, c.busyUs) - per(d, d.busyUs)).toFixed(2)} µs/req busy (${((100 * per(c, c.busyUs)) / per(d, d.busyUs) - 100).toFixed(1)} %), of which GC +${(per(c, gc(c)) - per(d, gc(d))).toFixed(2)}`,
      '',
      'Self time of the cache\'s own code and lru-cache in (d+c), µs/req:',
      ...cacheFns.slice(0, 25).map(([n, t]) => `- ${per(c, t).toFixed(3)}  ${n}`),
      `- total ${per(c, cacheFns.reduce((a, [, t]) => a + t, 0)).toFixed(2)}`,
      '',
      'Largest growth of self time per request from (d) to (d+c), µs/req (delta, (d+c) value):',
      ...deltas.slice(0, 30).map(([n, dt, v]) => `- +${dt.toFixed(3)} (${v.toFixed(3)})  ${n}`),
      '',
    ]
    console.log(lines.join('\n'))
  } finally {
    await stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  void stopAll().finally(() => process.exit(1))
})
