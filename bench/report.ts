// Turn one run's measurements into the table (stdout) and bench/RESULTS.md. Ratios are only ever taken between
// rows of the same run: absolute numbers on a 2-core box running client, proxy and upstream say little.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, release } from 'node:os'
import type { OpenLoopResult } from './open-loop.js'
import type { TtftResult } from './ttft.js'
import { SLOW_CPU } from './cpu-speed.js'

export type RowKey = 'direct' | 'nginx' | 'bare' | 'bare2' | 'switchyard' | 'resilient' | 'auth' | 'global' | 'nometrics' | 'traced' | 'trace0' | 'baseline' | 'wasm' | 'plugin'

export interface RowResult {
  key: RowKey
  label: string
  /** Why the row has no numbers (skipped, failed to start, failed its sanity check). */
  skipped?: string
  json?: { rps: number, errors: number, cpuUsPerReq?: number, cores?: number }
  sse?: { rps: number, errors: number, cpuUsPerReq?: number }
  latency?: OpenLoopResult
  ttft?: TtftResult
  peakRssMb?: number
  /** Max over this row's measurement windows of cores used by processes that are not ours, plus steal. */
  noiseCores?: number
  /** This row's slowest throughput round's CPU calibration ÷ the run's fastest (cpu-speed.ts): host contention. */
  cpuSlowdown?: number
}

export interface RunInfo {
  date: string
  seconds: number
  rounds: number
  rate: number
  pinning: string
  sendLagP99Ms: number
  node: string
  nginx: string
  wrk: string
  elapsedS: number
  /** The CPU calibration's fastest and slowest rounds (cpu-speed.ts). */
  calibrationMs?: { fastest: number, slowest: number }
}

const f0 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US'))
const f1 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(1))
const f2 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(2))
const signed = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : `${n >= 0 ? '+' : ''}${n.toFixed(2)}`)
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? '—' : `${(a / b).toFixed(2)}×`)
const err = (e: number | undefined) => (e ? ` ⚠${e} err` : '')

/** The stack's ceiling: the better of the two bare pass-throughs, per metric. */
function bestBare(rows: RowResult[], pick: (r: RowResult) => number | undefined): number | undefined {
  const vals = rows.filter((r) => r.key === 'bare' || r.key === 'bare2').map(pick).filter((v): v is number => v !== undefined)
  return vals.length ? Math.max(...vals) : undefined
}

export function table(rows: RowResult[]): string {
  const by = (k: RowKey) => rows.find((r) => r.key === k && !r.skipped)
  const direct = by('direct')
  const nginx = by('nginx')
  const bareJson = bestBare(rows, (r) => r.json?.rps)
  const bareSse = bestBare(rows, (r) => r.sse?.rps)
  const head = ['row', 'JSON req/s', '×direct', '×nginx', '×bare', 'SSE streams/s', '×direct', '×nginx', '×bare',
    'p50 ms', 'p99 ms', 'p99.9 ms', 'p99 −nginx', 'TTFT p50 ms', 'TTFT p99 ms', 'TTFT −direct p50 / p99', 'CPU µs/req', 'SSE CPU µs/stream', 'cores', 'peak RSS MB', 'noise cores', 'slow CPU']
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`]
  for (const r of rows) {
    if (r.skipped) { lines.push(`| ${r.label} | skipped: ${r.skipped.split('\n')[0]} |${' |'.repeat(head.length - 2)}`); continue }
    const l = r.latency
    const t = r.ttft
    lines.push(`| ${[
      r.label,
      f0(r.json?.rps) + err(r.json?.errors), ratio(r.json?.rps, direct?.json?.rps), ratio(r.json?.rps, nginx?.json?.rps), ratio(r.json?.rps, bareJson),
      f0(r.sse?.rps) + err(r.sse?.errors), ratio(r.sse?.rps, direct?.sse?.rps), ratio(r.sse?.rps, nginx?.sse?.rps), ratio(r.sse?.rps, bareSse),
      f2(l?.p50), f2(l?.p99) + err(l?.errors), f2(l?.p999), r.key === 'direct' || r.key === 'nginx' ? '' : signed(l && nginx?.latency ? l.p99 - nginx.latency.p99 : undefined),
      f2(t?.p50), f2(t?.p99) + err(t?.errors),
      r.key === 'direct' ? '' : `${signed(t && direct?.ttft ? t.p50 - direct.ttft.p50 : undefined)} / ${signed(t && direct?.ttft ? t.p99 - direct.ttft.p99 : undefined)}`,
      f1(r.json?.cpuUsPerReq), f1(r.sse?.cpuUsPerReq), f2(r.json?.cores), f0(r.peakRssMb), f2(r.noiseCores) + ((r.noiseCores ?? 0) > 0.2 ? ' ⚠' : ''),
      r.cpuSlowdown === undefined ? '—' : `${r.cpuSlowdown.toFixed(2)}×${r.cpuSlowdown > SLOW_CPU ? ' ⚠' : ''}`,
    ].join(' | ')} |`)
  }
  return lines.join('\n')
}

export function targets(rows: RowResult[]): string {
  const sy = rows.find((r) => r.key === 'switchyard')
  if (!sy || sy.skipped) return `Targets: not evaluated, Switchyard row skipped (${sy?.skipped?.split('\n')[0] ?? 'not run'}).`
  const nginx = rows.find((r) => r.key === 'nginx' && !r.skipped)
  const direct = rows.find((r) => r.key === 'direct' && !r.skipped)
  const bareJson = bestBare(rows, (r) => r.json?.rps)
  const bareSse = bestBare(rows, (r) => r.sse?.rps)
  const check = (name: string, value: number | undefined, ok: (v: number) => boolean, show: (v: number) => string) =>
    `- ${value === undefined || !Number.isFinite(value) ? 'n/a ' : ok(value) ? 'PASS' : 'FAIL'} ${name}: ${value === undefined || !Number.isFinite(value) ? '—' : show(value)}`
  const noisy = Math.max(...rows.map((r) => r.noiseCores ?? 0))
  const slow = Math.max(...rows.map((r) => r.cpuSlowdown ?? 1))
  const warnings = [
    ...(noisy > 0.2 ? [`⚠ up to ${noisy.toFixed(2)} cores of other work during this run`] : []),
    ...(slow > SLOW_CPU ? [`⚠ the proxy CPU ran up to ${slow.toFixed(2)}× slower in some rounds than in others (host contention)`] : []),
  ]
  return [`Targets (Switchyard, same run)${warnings.length ? `; ${warnings.join('; ')}, verdicts unreliable` : ''}:`,
    check('JSON throughput ≥ 0.9× bare', sy.json && bareJson ? sy.json.rps / bareJson : undefined, (v) => v >= 0.9, (v) => `${v.toFixed(2)}×`),
    check('SSE streams/s ≥ 0.9× bare', sy.sse && bareSse ? sy.sse.rps / bareSse : undefined, (v) => v >= 0.9, (v) => `${v.toFixed(2)}×`),
    check(`added p99 at ${sy.latency?.rate ?? '?'} req/s ≤ 0.5 ms over nginx`, sy.latency && nginx?.latency ? sy.latency.p99 - nginx.latency.p99 : undefined, (v) => v <= 0.5, (v) => `${signed(v)} ms`),
    check('added TTFT (p50) ≤ 0.5 ms over direct', sy.ttft && direct?.ttft ? sy.ttft.p50 - direct.ttft.p50 : undefined, (v) => v <= 0.5, (v) => `${signed(v)} ms (p99 ${signed(sy.ttft!.p99 - direct!.ttft!.p99)} ms)`),
    check('peak RSS ≤ 150 MB', sy.peakRssMb, (v) => v <= 150, (v) => `${v.toFixed(0)} MB`),
    ...resilienceTargets(rows, sy, check),
    ...authTargets(rows, sy, check),
    ...metricsTargets(rows, sy, check),
    ...tracingTargets(rows, sy, check),
    ...wasmRecord(rows, sy, check),
    ...pluginTargets(rows, sy),
    ...baselineComparison(rows, sy),
  ].join('\n')
}

/** BENCH_BASELINE: row (d) against the same gateway built from another checkout, same run. */
function baselineComparison(rows: RowResult[], sy: RowResult): string[] {
  const base = rows.find((r) => r.key === 'baseline' && !r.skipped)
  if (!base) return []
  const pct = (a?: number, b?: number) => (a && b ? `${signed((a / b - 1) * 100)}%` : '—')
  return [
    `- (d) vs (d0) baseline, same run: JSON req/s ${pct(sy.json?.rps, base.json?.rps)}, SSE streams/s ${pct(sy.sse?.rps, base.sse?.rps)}, ` +
      `JSON CPU µs/req ${pct(sy.json?.cpuUsPerReq, base.json?.cpuUsPerReq)}, SSE CPU µs/stream ${pct(sy.sse?.cpuUsPerReq, base.sse?.cpuUsPerReq)} (negative CPU is better)`,
  ]
}

/** Issue 6: retries, budgets, breakers and outlier detection on the happy path cost ≤ 5% vs row (d). */
function resilienceTargets(rows: RowResult[], sy: RowResult, check: (name: string, v: number | undefined, ok: (v: number) => boolean, show: (v: number) => string) => string): string[] {
  const re = rows.find((r) => r.key === 'resilient' && !r.skipped)
  if (!re) return []
  const overhead = (a?: number, b?: number) => (a && b ? 1 - a / b : undefined)
  return [
    check('(e) resilience overhead on JSON throughput ≤ 5% vs (d)', overhead(re.json?.rps, sy.json?.rps), (v) => v <= 0.05, (v) => `${(v * 100).toFixed(1)}%`),
    check('(e) resilience overhead on SSE streams/s ≤ 5% vs (d)', overhead(re.sse?.rps, sy.sse?.rps), (v) => v <= 0.05, (v) => `${(v * 100).toFixed(1)}%`),
    '  (throughput of two rows this close is within this box\'s run-to-run noise; `npm run bench:overhead` measures the same cost from CPU profiles: bench/OVERHEAD.md)',
  ]
}

/** Issue 14: api_key auth with local limits keeps ≥ 0.95× row (d) throughput; global limits in Redis add ≤ 0.3 ms at p50. */
function authTargets(rows: RowResult[], sy: RowResult, check: (name: string, v: number | undefined, ok: (v: number) => boolean, show: (v: number) => string) => string): string[] {
  const au = rows.find((r) => r.key === 'auth' && !r.skipped)
  if (!au) return globalTargets(rows, sy, check)
  const ratio = (a?: number, b?: number) => (a && b ? a / b : undefined)
  return [
    check('(f) api_key auth + local limits JSON throughput ≥ 0.95× (d)', ratio(au.json?.rps, sy.json?.rps), (v) => v >= 0.95, (v) => `${v.toFixed(3)}×`),
    check('(f) api_key auth + local limits SSE streams/s ≥ 0.95× (d)', ratio(au.sse?.rps, sy.sse?.rps), (v) => v >= 0.95, (v) => `${v.toFixed(3)}×`),
    ...globalTargets(rows, sy, check),
  ]
}

function globalTargets(rows: RowResult[], sy: RowResult, check: (name: string, v: number | undefined, ok: (v: number) => boolean, show: (v: number) => string) => string): string[] {
  const gl = rows.find((r) => r.key === 'global' && !r.skipped)
  if (!gl) return []
  return [
    check(`(g) global limits (Redis) p50 at ${sy.latency?.rate ?? '?'} req/s ≤ +0.3 ms over (d)`, gl.latency && sy.latency ? gl.latency.p50 - sy.latency.p50 : undefined, (v) => v <= 0.3, (v) => `${signed(v)} ms`),
    check('(g) global limits JSON throughput vs (d) (no target; for the record)', gl.json?.rps && sy.json?.rps ? gl.json.rps / sy.json.rps : undefined, () => true, (v) => `${v.toFixed(3)}×`),
  ]
}

/** Issue 15: metrics on (row (d), the default) keep ≥ 0.95× the throughput of the same config with metrics off (d-). */
function metricsTargets(rows: RowResult[], sy: RowResult, check: (name: string, v: number | undefined, ok: (v: number) => boolean, show: (v: number) => string) => string): string[] {
  const off = rows.find((r) => r.key === 'nometrics' && !r.skipped)
  if (!off) return []
  const ratio = (a?: number, b?: number) => (a && b ? a / b : undefined)
  return [
    check('(d) metrics on: JSON throughput ≥ 0.95× (d-) metrics off', ratio(sy.json?.rps, off.json?.rps), (v) => v >= 0.95, (v) => `${v.toFixed(3)}×`),
    check('(d) metrics on: SSE streams/s ≥ 0.95× (d-) metrics off', ratio(sy.sse?.rps, off.sse?.rps), (v) => v >= 0.95, (v) => `${v.toFixed(3)}×`),
  ]
}

/**
 * Issue 15: tracing every request (100 % sampling to a local OTLP receiver, metrics on) keeps ≥ 0.95× of
 * (d)'s throughput; tracing configured with sampling 0 keeps ≥ 0.99×. The CPU per request is printed
 * beside each, since on a shared box it is the steadier number.
 */
function tracingTargets(rows: RowResult[], sy: RowResult, check: (name: string, v: number | undefined, ok: (v: number) => boolean, show: (v: number) => string) => string): string[] {
  const ratio = (a?: number, b?: number) => (a && b ? a / b : undefined)
  const cpu = (r: RowResult, lane: 'json' | 'sse') => {
    const a = r[lane]?.cpuUsPerReq
    const b = sy[lane]?.cpuUsPerReq
    return a !== undefined && b !== undefined ? `; CPU ${b.toFixed(1)} → ${a.toFixed(1)} µs/req (${signed(a - b)})` : ''
  }
  const out: string[] = []
  for (const [key, label, min] of [['traced', '(d+t) tracing 100 %', 0.95], ['trace0', '(d+t0) tracing, sampling 0', 0.99]] as const) {
    const r = rows.find((x) => x.key === key && !x.skipped)
    if (!r) continue
    out.push(
      check(`${label}: JSON throughput ≥ ${min}× (d)`, ratio(r.json?.rps, sy.json?.rps), (v) => v >= min, (v) => `${v.toFixed(3)}×${cpu(r, 'json')}`),
      check(`${label}: SSE streams/s ≥ ${min}× (d)`, ratio(r.sse?.rps, sy.sse?.rps), (v) => v >= min, (v) => `${v.toFixed(3)}×${cpu(r, 'sse')}`),
    )
  }
  return out
}

/** Issue 19: a no-op proxy-wasm plugin on row (d)'s config, against (d) in the same run (no target; for the record). */
function wasmRecord(rows: RowResult[], sy: RowResult, check: (name: string, v: number | undefined, ok: (v: number) => boolean, show: (v: number) => string) => string): string[] {
  const w = rows.find((r) => r.key === 'wasm' && !r.skipped)
  if (!w) return []
  const cpu = (lane: 'json' | 'sse') => {
    const a = w[lane]?.cpuUsPerReq
    const b = sy[lane]?.cpuUsPerReq
    return a !== undefined && b !== undefined ? `; CPU ${b.toFixed(1)} → ${a.toFixed(1)} µs/req (${signed(a - b)})` : ''
  }
  return [
    check('(d+w) no-op WASM plugin: JSON throughput vs (d) (no target; for the record)', w.json?.rps && sy.json?.rps ? w.json.rps / sy.json.rps : undefined, () => true, (v) => `${v.toFixed(3)}×${cpu('json')}`),
    check('(d+w) no-op WASM plugin: SSE streams/s vs (d) (no target; for the record)', w.sse?.rps && sy.sse?.rps ? w.sse.rps / sy.sse.rps : undefined, () => true, (v) => `${v.toFixed(3)}×${cpu('sse')}`),
  ]
}

/**
 * Issue 19: what a no-op JS plugin (all four hooks, doing nothing) costs on row (d)'s config: the
 * ratio of throughputs and the CPU per request beside it (the steadier number on a shared box).
 * Reported, not judged: there is no target yet.
 */
function pluginTargets(rows: RowResult[], sy: RowResult): string[] {
  const r = rows.find((x) => x.key === 'plugin' && !x.skipped)
  if (!r) return []
  const lane = (l: 'json' | 'sse', what: string) => {
    const a = r[l], b = sy[l]
    if (!a || !b || !b.rps) return `${what} —`
    const cpu = a.cpuUsPerReq !== undefined && b.cpuUsPerReq !== undefined ? `, CPU ${b.cpuUsPerReq.toFixed(1)} → ${a.cpuUsPerReq.toFixed(1)} µs (${signed(a.cpuUsPerReq - b.cpuUsPerReq)})` : ''
    return `${what} ${(a.rps / b.rps).toFixed(3)}× (d)${cpu}`
  }
  return [`- (d+p) no-op JS plugin vs (d), same run: ${lane('json', 'JSON req/s')}; ${lane('sse', 'SSE streams/s')}`]
}

export function machine(info: RunInfo): string {
  const cpu = (() => {
    try { return /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model } catch { return cpus()[0]?.model }
  })()
  return [
    `- date: ${info.date}`,
    `- machine: ${cpus().length} cores (nproc), ${cpu}, Linux ${release()}`,
    `- node ${info.node}, nginx ${info.nginx}, ${info.wrk}`,
    `- settings: ${info.seconds}s per measurement (${info.rounds} interleaved round${info.rounds > 1 ? 's, median reported' : ''}), fixed rate ${info.rate} req/s, ${info.pinning}`,
    `- open-loop generator lateness (p99 of actual − scheduled send, worst round): ${info.sendLagP99Ms.toFixed(2)} ms; run took ${info.elapsedS.toFixed(0)}s`,
    ...(info.calibrationMs ? [`- proxy CPU calibration (bench/cpu-speed.ts) before each throughput round: ${info.calibrationMs.fastest.toFixed(1)}–${info.calibrationMs.slowest.toFixed(1)} ms`] : []),
  ].join('\n')
}

const METHOD = `How each column is measured (all rows hit the same mocks in the same run):
- **JSON req/s**: \`wrk -t2 -c64\`, POST /v1/chat/completions, ~600-byte fixed reply from the nginx mock.
- **SSE streams/s**: same, \`stream: true\`; the mock answers the 20-event \`chat.completion.chunk\` body + \`[DONE]\`.
- **p50/p99/p99.9**: open-loop generator at a fixed rate every row sustains; latency from the *scheduled* send time.
- **TTFT**: sequential streams against a Node mock that sends the first event (the role-only opening) after 50 ms, then one every 10 ms; measured to the first chunk carrying a token (≈60 ms direct).
- **CPU µs/req, cores**: utime+stime of the proxy's process tree over the JSON run (/proc/<pid>/stat); **SSE CPU µs/stream** the same over the SSE run.
- **peak RSS**: VmHWM of the proxy's process tree at the end of the run.
- **×bare** compares with the better of (c) and (c2) for that metric: the ceiling of the uWS + undici stack.
- **noise cores**: CPU used by processes outside the bench (another build, a test run) plus hypervisor steal,
  worst window of the row; above 0.2 (⚠) that row's numbers are suspect. Throughput and latency are the median of interleaved
  rounds, so one disturbed round does not decide; every row is warmed until three 1 s windows agree within 20% (max 10 s).
- **slow CPU**: the proxy CPU's speed before each of the row's JSON and SSE rounds (a fixed JSON.parse workload in a fresh
  process on that CPU, bench/cpu-speed.ts), its slowest round ÷ the run's fastest. This box is a KVM guest: other guests'
  load slows the vCPU without showing as other processes or steal. Above 1.15× (⚠) that row ran on a slower machine.`

const NOTES_MARKER = '<!-- notes: everything below this line is kept across runs -->'

export function writeResults(file: string, rows: RowResult[], info: RunInfo): void {
  const kept = existsSync(file) ? readFileSync(file, 'utf8').split(NOTES_MARKER)[1] : undefined
  const text = `# Switchyard bench results

Generated by \`npm run bench\` (bench/run.ts). Re-running overwrites everything above the notes marker.

${machine(info)}

${table(rows)}

${targets(rows)}

${METHOD}

${NOTES_MARKER}${kept ?? '\n## Notes\n'}`
  writeFileSync(file, text)
}
