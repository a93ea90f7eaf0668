// `npm run bench`: every row against the same mocks, in one run, phase by phase (all rows' throughput, then all
// rows' SSE, ...) so slow drift on the box spreads over the rows instead of landing on one.
//   BENCH_DURATION=3   seconds per measurement (default 10; 3 is a smoke check)
//   BENCH_RATE=2000    fixed rate for the latency column (default: min(2000, half the slowest row's req/s))
//   BENCH_ROWS=bare2,switchyard   measure only these rows (direct, nginx, bare, bare2, switchyard)
//   BENCH_PIN=0        do not pin the proxy to its own CPU (see pinning.ts)
//   --soak             1M requests through Switchyard, RSS every 100k (see bench/README.md)
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { freePorts, killChildrenOnExit, startChild, stopAll, waitReady, type Child } from './children.js'
import { mockConf, nginxVersion, proxyConf, startNginx } from './nginx.js'
import { openLoop, type OpenLoopResult } from './open-loop.js'
import { CHAT_PATH, COMPLETION_JSON, REQUEST, SSE_CHUNKS } from './payloads.js'
import { onProxyCpu, pinSelf, pinningNote } from './pinning.js'
import { noiseProbe, waitQuiet } from './noise.js'
import { cpuSeconds, peakRssMb } from './proc-stats.js'
import { machine, table, targets, writeResults, type RowKey, type RowResult, type RunInfo } from './report.js'
import { runSoak } from './soak.js'
import { startSwitchyard, switchyardMissing } from './switchyard.js'
import { ttftSampler } from './ttft.js'
import { warmUp, wrk, writePostScript } from './wrk.js'

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const RESULTS = fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url))
const SECONDS = Number(process.env.BENCH_DURATION ?? 10)
// Each measurement is split into rounds, interleaved across rows, and the median round is reported.
const ROUNDS = SECONDS >= 6 ? 3 : 1
const ROUND_SECONDS = Math.max(1, Math.round(SECONDS / ROUNDS))
const MAX_WARMUP = SECONDS >= 6 ? 15 : 6
const TTFT_STREAMS = SECONDS >= 6 ? 240 : 96
const TTFT_CONCURRENCY = 8

/** Where a row receives each kind of traffic. Plain proxies have a port per lane; Switchyard routes by model. */
interface Row {
  key: RowKey
  label: string
  lanes: { json: string, sse: string, ttft: string }
  /** The process tree whose CPU and memory we report; none for the direct row. */
  server?: Child
  result: RowResult
}

const log = (msg: string) => console.error(`bench: ${msg}`)

async function sanity(row: Row): Promise<string | null> {
  const post = async (origin: string, body: string) => {
    const r = await request(origin + CHAT_PATH, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
    return { status: r.statusCode, type: String(r.headers['content-type'] ?? ''), text: await r.body.text() }
  }
  try {
    const j = await post(row.lanes.json, REQUEST.json)
    if (j.status !== 200) return `JSON lane answered ${j.status}: ${j.text.slice(0, 200)}`
    const got = JSON.parse(j.text) as { choices?: { message?: { content?: string } }[] }
    if (got.choices?.[0]?.message?.content !== (JSON.parse(COMPLETION_JSON) as typeof got).choices![0].message!.content) return `JSON lane body differs: ${j.text.slice(0, 200)}`
    for (const lane of ['sse', 'ttft'] as const) {
      const s = await post(row.lanes[lane], REQUEST[lane])
      const events = s.text.split('\n\n').filter((e) => e.startsWith('data: ')).length
      if (s.status !== 200 || !s.type.startsWith('text/event-stream') || events !== SSE_CHUNKS + 1) {
        return `${lane} lane: status ${s.status}, content-type '${s.type}', ${events} data events (want ${SSE_CHUNKS + 1})`
      }
    }
    return null
  } catch (err) {
    return `sanity request failed: ${(err as Error).message}`
  }
}

async function main(): Promise<void> {
  killChildrenOnExit()
  pinSelf()
  const started = performance.now()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'))
  try {
    if (process.argv.includes('--soak')) { await runSoak(dir); return }
    await bench(dir, started)
  } finally {
    await stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function bench(dir: string, started: number): Promise<void> {
  const [j1, j2, s1, s2, t1, t2, nJ, nS, nT, cJ, cS, cT, c2J, c2S, c2T, gw, admin] = await freePorts(17)
  const at = (port: number) => `http://127.0.0.1:${port}`

  log(`starting mocks and proxies (${SECONDS}s per measurement, ${pinningNote()})`)
  const mockDir = join(dir, 'mock'), proxyDir = join(dir, 'proxy')
  await startNginx('mock-nginx', mockDir, mockConf(mockDir, { json: [j1, j2], sse: [s1, s2] }), j1)
  const stream = startChild('mock-stream', process.execPath, [here('./mock-stream-upstream.js'), String(t1), String(t2)])
  await waitReady(stream, at(t1) + CHAT_PATH, { method: 'POST', body: REQUEST.ttft })

  const nginx = await startNginx('nginx-proxy', proxyDir, proxyConf(proxyDir, [
    { listen: nJ, upstreams: [j1, j2] }, { listen: nS, upstreams: [s1, s2] }, { listen: nT, upstreams: [t1, t2] },
  ]), nJ, { pinned: true })
  const bareArgs = (ports: number[]) => [`${ports[0]}=${at(j1)}`, `${ports[1]}=${at(s1)}`, `${ports[2]}=${at(t1)}`]
  const bare = startChild('bare', ...onProxyCpu(process.execPath, [here('./bare-passthrough.js'), ...bareArgs([cJ, cS, cT])]))
  const bare2 = startChild('bare2', ...onProxyCpu(process.execPath, [here('./bare-passthrough-dispatch.js'), ...bareArgs([c2J, c2S, c2T])]))
  await Promise.all([waitReady(bare, at(cJ) + CHAT_PATH, { method: 'POST', body: REQUEST.json }), waitReady(bare2, at(c2J) + CHAT_PATH, { method: 'POST', body: REQUEST.json })])

  const lanes = (a: number, b: number, c: number) => ({ json: at(a), sse: at(b), ttft: at(c) })
  const rows: Row[] = ([
    { key: 'direct', label: '(a) direct to mock', lanes: lanes(j1, s1, t1) },
    { key: 'nginx', label: '(b) nginx proxy_pass', lanes: lanes(nJ, nS, nT), server: nginx },
    { key: 'bare', label: '(c) bare uWS+undici request()', lanes: lanes(cJ, cS, cT), server: bare },
    { key: 'bare2', label: '(c2) bare uWS+undici dispatch()', lanes: lanes(c2J, c2S, c2T), server: bare2 },
    { key: 'switchyard', label: '(d) Switchyard', lanes: lanes(gw, gw, gw) },
  ] as Omit<Row, 'result'>[]).map((r) => ({ ...r, result: { key: r.key, label: r.label } }))

  const only = process.env.BENCH_ROWS?.split(',')
  for (const row of rows) if (only && !only.includes(row.key)) row.result.skipped = 'not in BENCH_ROWS'

  const sy = rows.find((r) => r.key === 'switchyard')!
  const missing = sy.result.skipped ? null : switchyardMissing()
  if (missing) {
    sy.result.skipped = missing
    log(`skipping (d) Switchyard: ${missing}`)
  } else if (!sy.result.skipped) {
    try {
      sy.server = await startSwitchyard(dir, { admin, listen: gw, json: [j1, j2], sse: [s1, s2], ttft: [t1, t2] })
    } catch (err) {
      sy.result.skipped = `failed to start: ${(err as Error).message}`
      log(`skipping (d) Switchyard: ${(err as Error).message}`)
    }
  }

  for (const row of rows) {
    if (row.result.skipped) continue
    const problem = await sanity(row)
    if (problem) { row.result.skipped = `sanity check failed: ${problem}`; log(`${row.label}: ${row.result.skipped}`) }
  }
  const active = rows.filter((r) => !r.result.skipped)
  if (active.length === 0) throw new Error('no row left to measure')
  const noted = (row: Row, stop: () => { otherCores: number }) => {
    row.result.noiseCores = Math.max(row.result.noiseCores ?? 0, stop().otherCores)
  }
  const quiet = () => waitQuiet(process.pid, (cores) => log(`other processes use ${cores.toFixed(2)} cores; waiting for a quiet box`))

  // Phase 1: JSON throughput, plus the proxy's CPU over exactly the measured windows.
  const jsonLua = writePostScript(dir, 'json', REQUEST.json)
  for (const row of active) {
    await quiet()
    const w = await warmUp(row.lanes.json + CHAT_PATH, jsonLua, MAX_WARMUP)
    log(`${row.label}: JSON warm-up ${w.length}s (${w.map((r) => Math.round(r)).join(' → ')} req/s)`)
  }
  const jsonRounds = new Map<Row, { rps: number, requests: number, seconds: number, errors: number, cpu: number }[]>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of active) {
      log(`${row.label}: JSON throughput, round ${round + 1}/${ROUNDS}`)
      await quiet()
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

  // Phase 2: SSE streams/s (the 20-event body in one piece from nginx).
  const sseLua = writePostScript(dir, 'sse', REQUEST.sse)
  for (const row of active) { await quiet(); await warmUp(row.lanes.sse + CHAT_PATH, sseLua, Math.ceil(MAX_WARMUP / 2)) }
  const sseRounds = new Map<Row, { rps: number, errors: number }[]>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of active) {
      log(`${row.label}: SSE streams/s, round ${round + 1}/${ROUNDS}`)
      await quiet()
      const stop = noiseProbe(process.pid)
      const w = await wrk(row.lanes.sse + CHAT_PATH, sseLua, { seconds: ROUND_SECONDS })
      noted(row, stop)
      sseRounds.set(row, [...(sseRounds.get(row) ?? []), w])
    }
  }
  for (const [row, rs] of sseRounds) row.result.sse = { rps: median(rs.map((r) => r.rps)), errors: rs.reduce((a, r) => a + r.errors, 0) }

  // Phase 3: latency at one fixed rate that every row sustains, open loop.
  const slowest = Math.min(...active.map((r) => r.result.json!.rps))
  const rate = Number(process.env.BENCH_RATE) || Math.max(100, Math.min(2000, Math.floor(slowest / 2 / 100) * 100))
  for (const row of active) await openLoop(row.lanes.json, CHAT_PATH, REQUEST.json, rate, 1)
  const latRounds = new Map<Row, OpenLoopResult[]>()
  for (let round = 0; round < ROUNDS; round++) {
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
  const samplers = new Map(active.map((row) => [row, ttftSampler(row.lanes.ttft, CHAT_PATH, REQUEST.ttft, TTFT_CONCURRENCY)]))
  for (const s of samplers.values()) await s.run(TTFT_CONCURRENCY * 2, false)
  log(`time to first token: ${TTFT_STREAMS} streams per row, interleaved`)
  for (let done = 0; done < TTFT_STREAMS; done += TTFT_CONCURRENCY) {
    for (const [row, s] of samplers) {
      const stop = noiseProbe(process.pid)
      await s.run(Math.min(TTFT_CONCURRENCY, TTFT_STREAMS - done))
      noted(row, stop)
    }
  }
  for (const [row, s] of samplers) { row.result.ttft = s.result(); await s.close() }
  for (const row of active) if (row.server) row.result.peakRssMb = peakRssMb(row.server.pid)

  const results = rows.map((r) => r.result)
  const wrkVersion = (spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? 'wrk').replace(/ \[.*$/, '').trim()
  const info: RunInfo = {
    date: new Date().toISOString(), seconds: ROUNDS * ROUND_SECONDS, rounds: ROUNDS, rate, node: process.version, nginx: nginxVersion(), wrk: wrkVersion,
    pinning: pinningNote(), sendLagP99Ms: Math.max(...[...latRounds.values()].flat().map((r) => r.sendLagP99Ms)),
    elapsedS: (performance.now() - started) / 1000,
  }
  console.log(`\n${machine(info)}\n\n${table(results)}\n\n${targets(results)}\n`)
  writeResults(RESULTS, results, info)
  log(`wrote ${RESULTS}`)
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
