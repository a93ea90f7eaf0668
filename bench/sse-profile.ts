// The SSE lane, attributed: Switchyard (`--workers 1`, pinned like the bench's row (d)) under wrk with the 20-event
// body in one read, in fresh processes, rounds interleaved with BENCH_BASELINE's build when given. Per round: CPU µs
// per stream of the gateway's process tree (/proc), and one of
//   PROFILE_MODE=prof   --cpu-prof: the worker's busy µs/stream, GC share, and the self time of the event checks
//                       (usage-tap, stream-rules/*, json-syntax, json-members, sse/*) and of the top functions
//   PROFILE_MODE=gc     --trace-gc: scavenges and mark-compacts per 1000 streams, in the worker's isolate
//   PROFILE_MODE=deopt  --trace-deopt: how many deoptimisations, of which functions, and why
// Fresh processes per round are the point: run-to-run variance comes from what a process does while it warms up.
//   npm run build && BENCH_BASELINE=/tmp/sse-base PROFILE_MODE=prof node dist/bench/sse-profile.js
//   PROFILE_ROUNDS=4 PROFILE_SECONDS=8 PROFILE_WARMUP=3 SWITCHYARD_WORKER_YOUNG_MB=32 ...   (young gen of the worker)
//   PROFILE_BASE_ENV="K=V ..."  environment for the baseline's gateway only, e.g. BENCH_BASELINE=$PWD (this build
//                       again) PROFILE_BASE_ENV=SWITCHYARD_WORKER_YOUNG_MB=16 to compare young-generation sizes
//   PROFILE_BASE_VARIANT=auth  the baseline build's variant (default plain)
//   PROFILE_BARE=1      also profile the bare dispatch() proxy (row c2) in the same rounds
//   PROFILE_VARIANTS=plain,auth   several bench variants (bench/switchyard.ts: plain, auth, global, no-metrics, traced…) of
//                       this build in the same interleaved rounds, e.g. to see what row (f)'s filters cost
//   PROFILE_LANE=json   the JSON lane instead (one chat completion per request)
//   PROFILE_KEEP=1      keep the temp dir with the .cpuprofile files (its path is printed)
//   PROFILE_MODE=windows PROFILE_WINDOWS=6   no flags: CPU µs/stream of consecutive windows in one process, each
//                       after a calibration (a fixed JS workload timed on the proxy CPU while the gateway idles),
//                       to tell a slower machine from a slower process
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePorts, killChildrenOnExit, startChild, stopAll, stopChild, waitReady } from './children.js'
import { mockConf, startNginx } from './nginx.js'
import { CHAT_PATH, REQUEST } from './payloads.js'
import { noiseProbe } from './noise.js'
import { onProxyCpu, pinSelf } from './pinning.js'
import { cpuSeconds } from './proc-stats.js'
import { baselineCli, CLI, switchyardConfig, type Variant } from './switchyard.js'
import { wrk, writePostScript } from './wrk.js'
import { calibrate } from './cpu-speed.js'

const MODE = process.env.PROFILE_MODE ?? 'prof'
const LANE = process.env.PROFILE_LANE === 'json' ? 'json' : 'sse'
const VARIANTS = (process.env.PROFILE_VARIANTS ?? 'plain').split(',') as Variant[]
const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 3)
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 6)
const WARMUP = Number(process.env.PROFILE_WARMUP ?? 3)
/** Where the event checks live (dist/src/runtime/providers/…). */
const WINDOWS = Number(process.env.PROFILE_WINDOWS ?? 6)
const BARE2 = fileURLToPath(new URL('./bare-passthrough-dispatch.js', import.meta.url))
const CHECKS = /providers\/(usage-tap|json-syntax|json-members|answer-facts|sse\/[^/]+|stream-rules\/[^/]+)\.js$/

interface Profile { nodes: { id: number; callFrame: { functionName: string; url: string } }[]; samples: number[]; timeDeltas: number[] }

interface Round { build: string; streams: number; rps: number; cpuUs: number; noise: number; lines: string[] }

/** The busiest thread's profile (the worker): busy µs, self µs by file and by function. */
function readProfile(dir: string) {
  let best: { busy: number; byFile: Map<string, number>; byFn: Map<string, number> } | undefined
  for (const f of readdirSync(dir)) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile
    const nodes = new Map(p.nodes.map((n) => [n.id, n.callFrame]))
    const byFile = new Map<string, number>()
    const byFn = new Map<string, number>()
    let busy = 0
    for (let i = 0; i < p.samples.length; i++) {
      const cf = nodes.get(p.samples[i])!
      if (cf.functionName === '(idle)') continue
      const dt = p.timeDeltas[i] ?? 0
      busy += dt
      const file = cf.url.replace(/^.*\/dist\/src\//, '') || cf.functionName
      byFile.set(file, (byFile.get(file) ?? 0) + dt)
      const fn = `${cf.functionName || '(anonymous)'} ${file.replace(/^.*\//, '')}`
      byFn.set(fn, (byFn.get(fn) ?? 0) + dt)
    }
    if (!best || busy > best.busy) best = { busy, byFile, byFn }
  }
  return best!
}

/** --trace-gc lines of the isolate that collected most (the worker's): counts by kind, and pause ms. */
function gcCounts(out: string): { scavenges: number; markCompacts: number; scavengeMs: number; markMs: number } {
  const byIsolate = new Map<string, { kind: string; ms: number }[]>()
  for (const line of out.split('\n')) {
    const m = /^\[\d+:(0x[0-9a-f]+)\]\s+\d+ ms: (\S+).*?MB, (?:pooled: [^,]*, )?([\d.]+) \/ [\d.]+ ms/.exec(line)
    if (m) byIsolate.set(m[1], [...(byIsolate.get(m[1]) ?? []), { kind: m[2], ms: Number(m[3]) }])
  }
  const gcs = [...byIsolate.values()].sort((a, b) => b.length - a.length)[0] ?? []
  const of = (p: string) => gcs.filter((g) => g.kind.startsWith(p))
  const ms = (xs: { ms: number }[]) => xs.reduce((a, g) => a + g.ms, 0)
  return { scavenges: of('Scavenge').length, markCompacts: of('Mark').length, scavengeMs: ms(of('Scavenge')), markMs: ms(of('Mark')) }
}

/** --trace-deopt: deoptimised functions with their reasons, most frequent first. */
function deopts(out: string): [string, number][] {
  const counts = new Map<string, number>()
  for (const m of out.matchAll(/\[bailout \(kind: ([^,]*), reason: ([^)]*)\): begin\. deoptimizing \S+ <JSFunction ([^ >]*)/g)) {
    const key = `${m[3] || '(anonymous)'} (${m[1]}: ${m[2]})`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => b[1] - a[1])
}

async function round(dir: string, build: string, cli: string, ports: { mock: number; jsonMock: number; listen: number; admin: number; collector: number }, n: number, variant: Variant): Promise<Round> {
  const yaml = join(dir, `${build}-${n}.yaml`)
  writeFileSync(yaml, switchyardConfig({ admin: ports.admin, listen: ports.listen, json: [ports.jsonMock, ports.jsonMock], sse: [ports.mock, ports.mock], ttft: [ports.mock, ports.mock], collector: ports.collector }, variant))
  const profDir = join(dir, `prof-${build}-${n}`)
  const flags = MODE === 'prof' ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : MODE === 'gc' ? ['--trace-gc'] : MODE === 'deopt' ? ['--trace-deopt'] : []
  const url = `http://127.0.0.1:${ports.listen}${CHAT_PATH}`
  const upstream = LANE === 'json' ? ports.jsonMock : ports.mock
  // The bare dispatch() proxy (row c2) under the same load and flags: what the stack itself costs per stream.
  const args = build === 'bare2' ? [BARE2, `${ports.listen}=http://127.0.0.1:${upstream}`] : [cli, 'run', '-c', yaml, '--workers', '1']
  const env = build === 'base' && process.env.PROFILE_BASE_ENV ? { ...process.env, ...Object.fromEntries(process.env.PROFILE_BASE_ENV.split(' ').map((kv) => kv.split('='))) } : process.env
  const gw = startChild(`switchyard-${build}`, ...onProxyCpu(process.execPath, [...flags, ...args]), env)
  let out = ''
  gw.proc.stdout!.on('data', (b: Buffer) => { out += b })
  if (build === 'bare2') await waitReady(gw, url, { method: 'POST', body: REQUEST[LANE] })
  else await waitReady(gw, `http://127.0.0.1:${ports.admin}/ready`, { timeoutMs: 30_000 })
  const script = writePostScript(dir, LANE, REQUEST[LANE])
  if (WARMUP > 0) await wrk(url, script, { seconds: WARMUP })
  if (MODE === 'windows') {
    const lines: string[] = []
    let last = { rps: 0, cpuUs: 0, noise: 0, streams: 0 }
    for (let w = 0; w < WINDOWS; w++) {
      const cal = calibrate()
      const c0 = cpuSeconds(gw.pid)
      const stop = noiseProbe(process.pid)
      const r = await wrk(url, script, { seconds: SECONDS })
      const cpuUs = ((cpuSeconds(gw.pid) - c0) / r.requests) * 1e6
      const { otherCores, stealCores } = stop()
      last = { rps: r.rps, cpuUs, noise: otherCores + stealCores, streams: r.requests }
      lines.push(`window ${w + 1}: calibration ${cal.toFixed(0)} ms, ${Math.round(r.rps)} streams/s, CPU ${cpuUs.toFixed(1)} µs/stream, noise ${last.noise.toFixed(2)} cores`)
    }
    await stopChild(gw, 10_000)
    return { build, ...last, lines }
  }
  const gcBefore = gcCounts(out)
  const warmText = out.length
  const cpu0 = cpuSeconds(gw.pid)
  const stop = noiseProbe(process.pid)
  const r = await wrk(url, script, { seconds: SECONDS })
  const cpuUs = ((cpuSeconds(gw.pid) - cpu0) / r.requests) * 1e6
  const { otherCores, stealCores } = stop()
  const gcAfter = gcCounts(out)
  await stopChild(gw, 10_000)
  const per = (x: number) => ((x / r.requests) * 1e6).toFixed(2)
  const lines: string[] = []
  if (MODE === 'prof') {
    // The profile spans warm-up and measurement alike: its µs/stream divide by both runs' streams.
    const p = readProfile(profDir)
    const streams = r.requests * (1 + WARMUP / SECONDS)
    const us = (x: number) => ((x / streams)).toFixed(2)
    const checks = [...p.byFile].filter(([f]) => CHECKS.test(f)).sort((a, b) => b[1] - a[1])
    const checkUs = checks.reduce((a, [, t]) => a + t, 0)
    lines.push(`busy ${us(p.busy)} µs/stream, GC ${(100 * (p.byFile.get('(garbage collector)') ?? 0) / p.busy).toFixed(1)} %, event checks ${us(checkUs)} µs/stream = ${(100 * checkUs / p.busy).toFixed(1)} % (${checks.map(([f, t]) => `${f.replace(/^.*\//, '')} ${(100 * t / p.busy).toFixed(1)} %`).join(', ')})`)
    const checkFns = [...p.byFn].filter(([f]) => /^\S+ (usage-tap|json-syntax|json-members|answer-facts|event-scan|sse-parser|openai|anthropic|responses|rules|event-names)\.js$/.test(f)).sort((a, b) => b[1] - a[1])
    lines.push(`checks by function: ${checkFns.slice(0, 10).map(([f, t]) => `${f} ${us(t)}`).join(' · ')} (µs/stream)`)
    lines.push(`top: ${[...p.byFn].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([f, t]) => `${f} ${(100 * t / p.busy).toFixed(1)} %`).join(' · ')}`)
  } else if (MODE === 'gc') {
    const d = (k: 'scavenges' | 'markCompacts' | 'scavengeMs' | 'markMs') => gcAfter[k] - gcBefore[k]
    const perK = (x: number) => ((x / r.requests) * 1000).toFixed(2)
    lines.push(`measured: ${perK(d('scavenges'))} scavenges (${per(d('scavengeMs') / 1000)} µs/stream of pause) and ${perK(d('markCompacts'))} mark-compacts (${per(d('markMs') / 1000)} µs/stream) per 1000 streams; warm-up: ${gcBefore.scavenges} scavenges, ${gcBefore.markCompacts} mark-compacts`)
  } else {
    for (const [when, text] of [['start-up + warm-up', out.slice(0, warmText)], ['measured window', out.slice(warmText)]]) {
      const ds = deopts(text)
      lines.push(`${when}: ${ds.reduce((a, [, c]) => a + c, 0)} deopts: ${ds.slice(0, 10).map(([k, c]) => `${c}× ${k}`).join(' · ')}`)
    }
  }
  if (process.env.PROFILE_KEEP) lines.push(`profile kept in ${profDir}`)
  else rmSync(profDir, { recursive: true, force: true })
  return { build, streams: r.requests, rps: r.rps, cpuUs, noise: otherCores + stealCores, lines }
}

async function main(): Promise<void> {
  killChildrenOnExit()
  pinSelf()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-sse-profile-'))
  try {
    const [jsonMock, mock, listen, admin, collector] = await freePorts(5)
    const mockDir = join(dir, 'mock')
    await startNginx('mock-nginx', mockDir, mockConf(mockDir, { json: [jsonMock], sse: [mock] }), jsonMock)
    // The traced variants export to the bench's OTLP sink, as row (d+t) does.
    if (VARIANTS.some((v) => v === 'traced' || v === 'trace0')) {
      const sink = startChild('otlp-sink', process.execPath, [fileURLToPath(new URL('./otlp-sink.js', import.meta.url)), String(collector)])
      await waitReady(sink, `http://127.0.0.1:${collector}/stats`)
    }
 const builds: [string, string, Variant][] = [...VARIANTS.map((v): [string, string, Variant] => [v === 'plain' ? 'this' : `this-${v}`, CLI, v]), ...(baselineCli() ? [['base', baselineCli()!, (process.env.PROFILE_BASE_VARIANT ?? 'plain') as Variant] as [string, string, Variant]] : []), ...(process.env.PROFILE_BARE === '1' ? [['bare2', BARE2, 'plain'] as [string, string, Variant]] : [])]
    for (let n = 0; n < ROUNDS; n++) {
      for (const [build, cli, variant] of builds) {
        const r = await round(dir, build, cli, { mock, jsonMock, listen, admin, collector }, n, variant)
        console.log(`${MODE} round ${n + 1} ${build}: ${Math.round(r.rps)} streams/s, CPU ${r.cpuUs.toFixed(1)} µs/stream (process), noise ${r.noise.toFixed(2)} cores\n  ${r.lines.join('\n  ')}`)
      }
    }
  } finally {
    await stopAll()
    if (!process.env.PROFILE_KEEP) rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  void stopAll().finally(() => process.exit(1))
})
