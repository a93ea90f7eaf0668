/**
 * What telemetry costs one request, in process: dispatch() in a tight loop on the mock provider
 * (answers synchronously, so a request is pure gateway CPU), one snapshot per variant, variants
 * interleaved round by round and the median CPU µs per request reported (CPU time, not wall time: on
 * a shared machine a descheduled round would otherwise count other tenants' work). Socket-free, so it isolates
 * the request path from the kernel and the load generator; `npm run bench` rows (d) / (d-) measure
 * the same through uWS and undici.
 *
 *   npm run build && node dist/bench/telemetry-cost.js            # 21 rounds × 10k requests per variant
 *   TELEMETRY_ROUNDS=15 TELEMETRY_REQUESTS=50000 node dist/bench/telemetry-cost.js
 *   TELEMETRY_VARIANTS=off,metrics node dist/bench/telemetry-cost.js
 */
import { compileConfig } from '../src/compiler/index.js'
import { buildSnapshot } from '../src/runtime/build/snapshot.js'
import { createStores } from '../src/runtime/stores.js'
import { dispatch } from '../src/runtime/http/dispatch.js'
import { RequestMetrics } from '../src/runtime/telemetry/request-metrics.js'
import { combineTelemetry } from '../src/runtime/telemetry/snapshot-telemetry.js'
import { RequestTracing } from '../src/runtime/telemetry/tracing/request-tracing.js'
import { TracerHost } from '../src/runtime/telemetry/tracing/tracer-host.js'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { Downstream, Snapshot } from '../src/runtime/types.js'

const PORT = 18777

/** A downstream that drops everything: the cheapest client there is. */
class NullDownstream implements Downstream {
  aborted = false
  onAbort(): void {}
  onWritable(): void {}
  write(): boolean {
    return true
  }
  end(): void {}
  writeHead(): void {}
  close(): void {}
  remoteAddress(): string { return '127.0.0.1' }
}

export interface Variant {
  readonly name: string
  /** The `telemetry:` section (YAML flow), or '' for none; COLLECTOR stands for the receiver's URL. */
  readonly telemetry: string
  /** Extra settings on the measured rule (YAML flow members), e.g. its `tracing` opt-in. */
  readonly rule?: string
}

const tracing = (ratio: number, metrics: boolean) =>
  `telemetry: { metrics: { enabled: ${metrics} }, tracing: { endpoint: "COLLECTOR", sampler: { ratio: ${ratio} }, batch: { interval: 100ms } } }`

export const VARIANTS: readonly Variant[] = [
  { name: 'off', telemetry: 'telemetry: { metrics: { enabled: false } }' },
  { name: 'metrics', telemetry: '' },
  { name: 'trace-0', telemetry: tracing(0, false) },
  { name: 'trace-100', telemetry: tracing(1, false) },
  { name: 'metrics+trace-100', telemetry: tracing(1, true) },
  /** Tracing every request on a rule that records message content (gen_ai.input / output messages). */
  { name: 'trace-100+content', telemetry: tracing(1, false), rule: 'tracing: { capture_content: true }' },
  /** The first variant again: how far apart two identical snapshots measure (the noise floor). */
  { name: 'off-again', telemetry: 'telemetry: { metrics: { enabled: false } }' },
]

function config(telemetry: string, rule = ''): string {
  return `${telemetry}
listeners: [{ name: api, port: ${PORT}, route_table: main }]
routes:
  - name: main
    rules:
      - name: chat
        match: { path: { exact: /v1/chat/completions } }
        cluster: m
        ${rule}
clusters: [{ name: m, provider: mock, models: [gpt-4o-mini], mock: { chunks: 8 } }]
`
}

function build(v: Variant, collector: string): Snapshot {
  const r = compileConfig([{ name: `${v.name}.yaml`, text: config(v.telemetry.replace('COLLECTOR', collector), v.rule) }], { source: 'bench', env: {} })
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join('\n'))
  const metrics = new RequestMetrics(() => 0)
  const tracing = new RequestTracing(new TracerHost())
  return buildSnapshot(r.ir, createStores(), undefined, combineTelemetry(metrics.forSnapshot(r.ir), tracing.forSnapshot(r.ir)))
}

/**
 * An OTLP/HTTP receiver that reads and drops what it gets, in a child process: a collector never runs
 * in the gateway's process, so its CPU must not count against the tracing variants (this process's
 * CPU is what a round measures).
 */
async function startReceiver(): Promise<{ url: string; stats(): Promise<{ requests: number; bytes: number }>; close(): void }> {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d) => resolve(Number(String(d).trim())))
    child.once('exit', (code) => reject(new Error(`receiver exited (${code})`)))
  })
  const stats = async (): Promise<{ requests: number; bytes: number }> => (await fetch(`http://127.0.0.1:${port}/stats`)).json() as Promise<{ requests: number; bytes: number }>
  return { url: `http://127.0.0.1:${port}/v1/traces`, stats, close: () => child.kill() }
}

const RECEIVER = `
let requests = 0, bytes = 0
const server = require('node:http').createServer((req, res) => {
  if (req.method === 'GET') return res.end(JSON.stringify({ requests, bytes }))
  req.on('data', (d) => (bytes += d.length))
  req.on('end', () => { requests++; res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end() })
})
server.keepAliveTimeout = 60000
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

/** Lets timers run (span export) every this many requests, so exporting is part of what a round costs. */
const YIELD_EVERY = 64

const BODIES = {
  json: Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one two three' }] })),
  sse: Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'one two three' }] })),
}

/**
 * This thread's CPU time in µs (Linux schedstat, ns resolution): the request-serving thread alone,
 * while process.cpuUsage() also counts the export thread and libuv's.
 */
function threadCpuUs(): number {
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000
}

/** CPU µs per request: the whole process's, and the request thread's alone. */
interface RoundCost { process: number; thread: number }

async function round(snap: Snapshot, body: Buffer, n: number): Promise<RoundCost> {
  const listener = snap.listeners.get(PORT)!
  const down = new NullDownstream()
  const c0 = process.cpuUsage()
  const t0 = threadCpuUs()
  for (let i = 0; i < n; i++) {
    dispatch(snap, listener, { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json' }, body }, down)
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((r) => setTimeout(r, 0))
  }
  const t = threadCpuUs() - t0
  const c = process.cpuUsage(c0)
  return { process: (c.user + c.system) / n, thread: t / n }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

export interface Measured {
  /** Median CPU µs per request of the whole process, per lane. */
  readonly json: number
  readonly sse: number
  /** The same for the request thread alone. */
  readonly jsonThread: number
  readonly sseThread: number
}

export async function measure(variants: readonly Variant[], rounds: number, requests: number): Promise<{ results: Map<string, Measured>; otlpBytesPerTrace: number }> {
  const receiver = await startReceiver()
  const snaps = variants.map((v) => ({ v, snap: build(v, receiver.url), json: [] as RoundCost[], sse: [] as RoundCost[] }))
  let traced = 0
  for (const s of snaps) {
    await round(s.snap, BODIES.json, requests / 4)
    await round(s.snap, BODIES.sse, requests / 4)
  }
  for (let r = 0; r < rounds; r++) {
    for (const lane of ['json', 'sse'] as const) {
      // rotate the order each round so no variant always runs right after GC-heavy work
      for (let k = 0; k < snaps.length; k++) {
        const s = snaps[(k + r) % snaps.length]
        s[lane].push(await round(s.snap, BODIES[lane], requests))
        if (s.v.telemetry.includes('ratio: 1')) traced += requests
      }
    }
  }
  // Let the last batches leave (interval 100ms), then read what the receiver got.
  await new Promise((r) => setTimeout(r, 1500))
  const got = await receiver.stats()
  receiver.close()
  const warmTraced = snaps.filter((s) => s.v.telemetry.includes('ratio: 1')).length * (requests / 2)
  const results = new Map(snaps.map((s) => [s.v.name, {
    json: median(s.json.map((r) => r.process)), sse: median(s.sse.map((r) => r.process)),
    jsonThread: median(s.json.map((r) => r.thread)), sseThread: median(s.sse.map((r) => r.thread)),
  }]))
  return { results, otlpBytesPerTrace: traced + warmTraced > 0 ? got.bytes / (traced + warmTraced) : 0 }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rounds = Number(process.env.TELEMETRY_ROUNDS ?? 21)
  const requests = Number(process.env.TELEMETRY_REQUESTS ?? 10_000)
  const pick = process.env.TELEMETRY_VARIANTS?.split(',')
  const variants = pick ? VARIANTS.filter((v) => pick.includes(v.name)) : VARIANTS
  const { results, otlpBytesPerTrace } = await measure(variants, rounds, requests)
  const base = results.get(variants[0].name)!
  process.exitCode = 0
  console.log(`median of ${rounds} interleaved rounds × ${requests} requests (CPU µs per request, whole process [request thread alone]; ratio to '${variants[0].name}')`)
  const f = (x: number) => x.toFixed(2).padStart(6)
  for (const [name, r] of results) {
    console.log(`${name.padEnd(18)} json ${f(r.json)} [${f(r.jsonThread)}] µs (${(r.json / base.json).toFixed(3)}×)   sse ${f(r.sse)} [${f(r.sseThread)}] µs (${(r.sse / base.sse).toFixed(3)}×)`)
  }
  if (otlpBytesPerTrace > 0) console.log(`OTLP bytes per traced request (what the receiver got / traced requests): ${otlpBytesPerTrace.toFixed(0)}`)
}
