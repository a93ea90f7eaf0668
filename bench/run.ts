// `npm run bench`: every row against the same mocks, in one run, phase by phase (all rows' throughput, then all
// rows' SSE, ...) so slow drift on the box spreads over the rows instead of landing on one.
//   BENCH_DURATION=3   seconds per measurement (default 10; 3 is a smoke check)
//   BENCH_RATE=2000    fixed rate for the latency column (default: min(2000, half the slowest row's req/s))
//   BENCH_ROWS=bare2,switchyard   measure only these rows (direct, nginx, bare, bare2, switchyard, resilient, auth, global, nometrics, traced, trace0, wasm, baseline)
//   BENCH_LANES=sse    measure only these phases (json, sse, latency, ttft)
//   BENCH_RESULTS=/tmp/r.md   write the results there instead of bench/RESULTS.md ('-': nowhere)
//   BENCH_PIN=0        do not pin the proxy to its own CPU (see pinning.ts)
//   --soak             1M requests through Switchyard, RSS every 100k (see bench/README.md)
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { killChildrenOnExit, stopAll } from './children.js'
import { nginxVersion } from './nginx.js'
import { noiseProbe, waitQuiet } from './noise.js'
import { calibrate } from './cpu-speed.js'
import { openLoop, type OpenLoopResult } from './open-loop.js'
import { CHAT_PATH, REQUEST } from './payloads.js'
import { pinSelf, pinningNote } from './pinning.js'
import { cpuSeconds, peakRssMb } from './proc-stats.js'
import { machine, table, targets, writeResults, type RunInfo } from './report.js'
import { startRows, type Row } from './rows.js'
import { runSoak } from './soak.js'
import { ttftSampler } from './ttft.js'
import { warmUp, wrk, writePostScript } from './wrk.js'

const RESULTS = process.env.BENCH_RESULTS ?? fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url))
const LANES = new Set((process.env.BENCH_LANES ?? 'json,sse,latency,ttft').split(','))
const SECONDS = Number(process.env.BENCH_DURATION ?? 10)
// Each measurement is split into rounds, interleaved across rows, and the median round is reported.
const ROUNDS = SECONDS >= 6 ? 3 : 1
const ROUND_SECONDS = Math.max(1, Math.round(SECONDS / ROUNDS))
const MAX_WARMUP = SECONDS >= 6 ? 10 : 6
const TTFT_STREAMS = SECONDS >= 6 ? 200 : 96
const TTFT_CONCURRENCY = 8

const log = (msg: string) => console.error(`bench: ${msg}`)

async function main(): Promise<void> {
  killChildrenOnExit()
  pinSelf()
  const started = performance.now()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'))
  // 'exit' also runs after Ctrl-C (the signal hook stops the children, then exits).
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  try {
    if (process.argv.includes('--soak')) { await runSoak(dir); return }
    await bench(dir, started)
  } finally {
    await stopAll()
  }
}

async function bench(dir: string, started: number): Promise<void> {
  log(`${ROUNDS} × ${ROUND_SECONDS}s per measurement`)
  const rows = await startRows(dir, log)
  const active = rows.filter((r) => !r.result.skipped)
  if (active.length === 0) throw new Error('no row left to measure')
  // Noise = CPU we did not get: other processes plus what the hypervisor stole.
  const noted = (row: Row, stop: () => { otherCores: number, stealCores: number }) => {
    const { otherCores, stealCores } = stop()
    row.result.noiseCores = Math.max(row.result.noiseCores ?? 0, otherCores + stealCores)
  }
  const quiet = () => waitQuiet(process.pid, (cores) => log(`other processes use ${cores.toFixed(2)} cores; waiting for a quiet box`))
  // Host contention the noise probe cannot see: the proxy CPU's speed before each throughput round.
  const calibrations = new Map<Row, number[]>()
  const timed = (row: Row) => {
    const ms = calibrate()
    if (Number.isFinite(ms)) calibrations.set(row, [...(calibrations.get(row) ?? []), ms])
  }

  // Phase 1: JSON throughput, plus the proxy's CPU over exactly the measured windows.
  const jsonLua = writePostScript(dir, 'json', REQUEST.json)
  for (const row of LANES.has('json') ? active : []) {
    await quiet()
    const w = await warmUp(row.lanes.json + CHAT_PATH, jsonLua, MAX_WARMUP)
    log(`${row.label}: JSON warm-up ${w.length}s (${w.map((r) => Math.round(r)).join(' → ')} req/s)`)
  }
  const jsonRounds = new Map<Row, { rps: number, requests: number, seconds: number, errors: number, cpu: number }[]>()
  for (let round = 0; round < (LANES.has('json') ? ROUNDS : 0); round++) {
    for (const row of active) {
      log(`${row.label}: JSON throughput, round ${round + 1}/${ROUNDS}`)
      await quiet()
      timed(row)
      const stop = noiseProbe(process.pid)
      const cpu0 = row.server ? cpuSeconds(row.server.pid) : 0
      const w = await wrk(row.lanes.json + CHAT_PATH, jsonLua, { seconds: ROUND_SECONDS })
      const cpu = row.server ? cpuSeconds(row.server.pid) - cpu0 : NaN
      noted(row, stop)
      jsonRounds.set(row, [...(jsonRounds.get(row) ?? []), { ...w, cpu }])
    }
  }
  for (const [row, rs] of jsonRounds) {
    const sum = (f: (r: typeof rs[number]) => number) => rs.reduce((a, r) => a + f(r), 0)
    row.result.json = {
      rps: median(rs.map((r) => r.rps)),
      errors: sum((r) => r.errors),
      ...(row.server && { cpuUsPerReq: (sum((r) => r.cpu) / sum((r) => r.requests)) * 1e6, cores: sum((r) => r.cpu) / sum((r) => r.seconds) }),
    }
  }

  // Phase 2: SSE streams/s (the 20-event body in one piece from nginx), and the CPU per stream.
  const sseLua = writePostScript(dir, 'sse', REQUEST.sse)
  for (const row of LANES.has('sse') ? active : []) { await quiet(); await warmUp(row.lanes.sse + CHAT_PATH, sseLua, Math.ceil(MAX_WARMUP / 2)) }
  const sseRounds = new Map<Row, { rps: number, requests: number, errors: number, cpu: number }[]>()
  for (let round = 0; round < (LANES.has('sse') ? ROUNDS : 0); round++) {
    for (const row of active) {
      log(`${row.label}: SSE streams/s, round ${round + 1}/${ROUNDS}`)
      await quiet()
      timed(row)
      const stop = noiseProbe(process.pid)
      const cpu0 = row.server ? cpuSeconds(row.server.pid) : 0
      const w = await wrk(row.lanes.sse + CHAT_PATH, sseLua, { seconds: ROUND_SECONDS })
      const cpu = row.server ? cpuSeconds(row.server.pid) - cpu0 : NaN
      noted(row, stop)
      sseRounds.set(row, [...(sseRounds.get(row) ?? []), { ...w, cpu }])
    }
  }
  for (const [row, rs] of sseRounds) {
    const sum = (f: (r: typeof rs[number]) => number) => rs.reduce((a, r) => a + f(r), 0)
    row.result.sse = { rps: median(rs.map((r) => r.rps)), errors: sum((r) => r.errors), ...(row.server && { cpuUsPerReq: (sum((r) => r.cpu) / sum((r) => r.requests)) * 1e6 }) }
    log(`${row.label}: SSE per round ${rs.map((r) => `${Math.round(r.rps)}/s ${((r.cpu / r.requests) * 1e6).toFixed(1)} µs`).join(', ')}`)
  }

  // Phase 3: latency at one fixed rate that every row sustains, open loop.
  const slowest = Math.min(...active.map((r) => r.result.json?.rps ?? 4000))
  const rate = Number(process.env.BENCH_RATE) || Math.max(100, Math.min(2000, Math.floor(slowest / 2 / 100) * 100))
  for (const row of LANES.has('latency') ? active : []) await openLoop(row.lanes.json, CHAT_PATH, REQUEST.json, rate, 1)
  const latRounds = new Map<Row, OpenLoopResult[]>()
  for (let round = 0; round < (LANES.has('latency') ? ROUNDS : 0); round++) {
    for (const row of active) {
      log(`${row.label}: latency at ${rate} req/s (open loop), round ${round + 1}/${ROUNDS}`)
      await quiet()
      const stop = noiseProbe(process.pid)
      const r = await openLoop(row.lanes.json, CHAT_PATH, REQUEST.json, rate, ROUND_SECONDS)
      noted(row, stop)
      latRounds.set(row, [...(latRounds.get(row) ?? []), r])
    }
  }
  for (const [row, rs] of latRounds) row.result.latency = mergeLatency(rs)

  // Phase 4: time to first token against the real-time mock, rows interleaved a few streams at a time.
  const samplers = new Map((LANES.has('ttft') ? active : []).map((row) => [row, ttftSampler(row.lanes.ttft, CHAT_PATH, REQUEST.ttft, TTFT_CONCURRENCY)]))
  for (const s of samplers.values()) await s.run(TTFT_CONCURRENCY * 2, false)
  if (samplers.size) log(`time to first token: ${TTFT_STREAMS} streams per row, interleaved`)
  for (let done = 0; samplers.size && done < TTFT_STREAMS; done += TTFT_CONCURRENCY) {
    for (const [row, s] of samplers) {
      const stop = noiseProbe(process.pid)
      await s.run(Math.min(TTFT_CONCURRENCY, TTFT_STREAMS - done))
      noted(row, stop)
    }
  }
  for (const [row, s] of samplers) { row.result.ttft = s.result(); await s.close() }
  for (const row of active) if (row.server) row.result.peakRssMb = peakRssMb(row.server.pid)

  const fastest = Math.min(...[...calibrations.values()].flat())
  for (const [row, ms] of calibrations) row.result.cpuSlowdown = Math.max(...ms) / fastest
  const results = rows.map((r) => r.result)
  const wrkVersion = (spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? 'wrk').replace(/ \[.*$/, '').trim()
  const info: RunInfo = {
    date: new Date().toISOString(), seconds: ROUNDS * ROUND_SECONDS, rounds: ROUNDS, rate, node: process.version, nginx: nginxVersion(), wrk: wrkVersion,
    pinning: pinningNote(), sendLagP99Ms: Math.max(0, ...[...latRounds.values()].flat().map((r) => r.sendLagP99Ms)),
    elapsedS: (performance.now() - started) / 1000,
    calibrationMs: Number.isFinite(fastest) ? { fastest, slowest: Math.max(...[...calibrations.values()].flat()) } : undefined,
  }
  console.log(`\n${machine(info)}\n\n${table(results)}\n\n${targets(results)}\n`)
  if (RESULTS !== '-') {
    writeResults(RESULTS, results, info)
    log(`wrote ${RESULTS}`)
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** Per-round percentiles → their median: one round disturbed by something else on the box does not decide. */
function mergeLatency(rs: OpenLoopResult[]): OpenLoopResult {
  const m = (f: (r: OpenLoopResult) => number) => median(rs.map(f))
  return {
    rate: rs[0].rate,
    sent: rs.reduce((a, r) => a + r.sent, 0),
    ok: rs.reduce((a, r) => a + r.ok, 0),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    p50: m((r) => r.p50), p90: m((r) => r.p90), p99: m((r) => r.p99), p999: m((r) => r.p999),
    max: Math.max(...rs.map((r) => r.max)),
    sendLagP99Ms: Math.max(...rs.map((r) => r.sendLagP99Ms)),
  }
}

main().catch(async (err) => {
  console.error(`bench: ${(err as Error).stack ?? err}`)
  await stopAll()
  process.exit(1)
})
