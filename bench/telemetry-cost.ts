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
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
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
}

const tracing = (ratio: number, metrics: boolean) =>
  `telemetry: { metrics: { enabled: ${metrics} }, tracing: { endpoint: "COLLECTOR", sampler: { ratio: ${ratio} }, batch: { interval: 100ms } } }`

export const VARIANTS: readonly Variant[] = [
  { name: 'off', telemetry: 'telemetry: { metrics: { enabled: false } }' },
  { name: 'metrics', telemetry: '' },
  { name: 'trace-0', telemetry: tracing(0, false) },
  { name: 'trace-100', telemetry: tracing(1, false) },
  { name: 'metrics+trace-100', telemetry: tracing(1, true) },
  /** The first variant again: how far apart two identical snapshots measure (the noise floor). */
  { name: 'off-again', telemetry: 'telemetry: { metrics: { enabled: false } }' },
]

function config(telemetry: string): string {
  return `${telemetry}
listeners: [{ name: api, port: ${PORT}, route_table: main }]
routes:
  - name: main
    rules:
      - name: chat
        match: { path: { exact: /v1/chat/completions } }
        cluster: m
clusters: [{ name: m, provider: mock, models: [gpt-4o-mini], mock: { chunks: 8 } }]
`
}

function build(v: Variant, collector: string): Snapshot {
  const r = compileConfig([{ name: `${v.name}.yaml`, text: config(v.telemetry.replace('COLLECTOR', collector)) }], { source: 'bench', env: {} })
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join('\n'))
  const metrics = new RequestMetrics(() => 0)
  const tracing = new RequestTracing(new TracerHost())
  return buildSnapshot(r.ir, createStores(), undefined, combineTelemetry(metrics.forSnapshot(r.ir), tracing.forSnapshot(r.ir)))
}

/** An OTLP/HTTP receiver that reads and drops what it gets (its CPU counts against the tracing variants). */
async function startReceiver(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, close: () => server.close() }
}

/** Lets timers run (span export) every this many requests, so exporting is part of what a round costs. */
const YIELD_EVERY = 64

const BODIES = {
  json: Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one two three' }] })),
  sse: Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'one two three' }] })),
}

async function round(snap: Snapshot, body: Buffer, n: number): Promise<number> {
  const listener = snap.listeners.get(PORT)!
  const down = new NullDownstream()
  const c0 = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    dispatch(snap, listener, { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json' }, body }, down)
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((r) => setTimeout(r, 0))
  }
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / n
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

export async function measure(variants: readonly Variant[], rounds: number, requests: number): Promise<Map<string, Record<'json' | 'sse', number>>> {
  const receiver = await startReceiver()
  const snaps = variants.map((v) => ({ v, snap: build(v, receiver.url), json: [] as number[], sse: [] as number[] }))
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
      }
    }
  }
  receiver.close()
  return new Map(snaps.map((s) => [s.v.name, { json: median(s.json), sse: median(s.sse) }]))
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rounds = Number(process.env.TELEMETRY_ROUNDS ?? 21)
  const requests = Number(process.env.TELEMETRY_REQUESTS ?? 10_000)
  const pick = process.env.TELEMETRY_VARIANTS?.split(',')
  const variants = pick ? VARIANTS.filter((v) => pick.includes(v.name)) : VARIANTS
  const result = await measure(variants, rounds, requests)
  const base = result.get(variants[0].name)!
  process.exitCode = 0
  console.log(`median of ${rounds} interleaved rounds × ${requests} requests (CPU µs per request; ratio to '${variants[0].name}')`)
  for (const [name, r] of result) {
    console.log(`${name.padEnd(16)} json ${r.json.toFixed(2).padStart(7)} µs (${(r.json / base.json).toFixed(3)}×)   sse ${r.sse.toFixed(2).padStart(7)} µs (${(r.sse / base.sse).toFixed(3)}×)`)
  }
}
