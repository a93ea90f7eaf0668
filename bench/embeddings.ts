// `node dist/bench/embeddings.js`: what embedding micro-batching (a cluster's `embedding_batching`) saves upstream
// and costs the caller. Additive to the main bench (its own processes and report, bench/EMBEDDINGS.md; the row is
// copied into bench/RESULTS.md by hand), because its traffic — 200 concurrent single-input embeddings callers
// against an upstream that charges per request — fits none of the main run's lanes.
//
// One gateway (`--workers 1`, pinned to the proxy CPU) with two clusters in front of the same mock, chosen by
// model: `emb-plain` (no batching) and `emb-batched` (`embedding_batching: {}`: window 50 ms, 100 inputs). The
// mock (in this process, on the load CPU) answers every request after a fixed 10 ms, however many inputs it
// carries — the per-request cost a real provider or a GPU server has — and counts requests and inputs.
//
// Rows, interleaved per round (plain, batched, plain, batched…), medians over rounds:
//   closed loop: 200 callers, each sending its next single-input request as soon as the last one is answered
//                (the row: upstream requests cut ≥ 10×, added p50 ≤ window + 2 ms)
//   open loop:   a fixed 1,000 req/s (bench/open-loop.ts), where batches close on the window, not on size
//
//   npm run build && node dist/bench/embeddings.js     # ~1 min; EMB_SECONDS=8 EMB_ROUNDS=5 for longer
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { freePorts, killChildrenOnExit, startChild, stopAll, waitReady } from './children.js'
import { onProxyCpu, pinSelf, pinningNote } from './pinning.js'
import { CLI } from './switchyard.js'
import { openLoop, percentile } from './open-loop.js'

const SECONDS = Number(process.env.EMB_SECONDS ?? 5)
const ROUNDS = Number(process.env.EMB_ROUNDS ?? 3)
const CALLERS = 200
const UPSTREAM_MS = 10
const WINDOW_MS = 50
const RATE = 1000

interface Counts { requests: number; inputs: number }

/** The upstream: 10 ms per request, any number of inputs, an 8-dimensional vector per input. */
async function startMock(port: number): Promise<Counts> {
  const counts: Counts = { requests: 0, inputs: 0 }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString())
      const inputs: string[] = Array.isArray(body.input) ? body.input : [body.input]
      counts.requests++
      counts.inputs += inputs.length
      setTimeout(() => {
        const data = inputs.map((t, index) => ({ object: 'embedding', index, embedding: Array.from({ length: 8 }, (_, i) => (t.charCodeAt(i % t.length) % 17) / 17) }))
        const tokens = inputs.reduce((n, t) => n + Math.ceil(t.length / 4), 0)
        const out = JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } })
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) })
        res.end(out)
      }, UPSTREAM_MS)
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return counts
}

function gatewayConfig(listen: number, admin: number, mock: number): string {
  return `admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${listen}, route_table: main }
routes:
  - name: main
    rules:
      - { name: plain, match: { model: { exact: emb-plain } }, cluster: plain }
      - { name: batched, match: { model: { exact: emb-batched } }, cluster: batched }
clusters:
  - { name: plain, provider: openai, endpoints: [{ url: "http://127.0.0.1:${mock}/v1", api_key: k }], pool: { connections: 256 }, circuit_breakers: { max_requests: 100000, max_pending_requests: 100000 } }
  - { name: batched, provider: openai, endpoints: [{ url: "http://127.0.0.1:${mock}/v1", api_key: k }], embedding_batching: {}, circuit_breakers: { max_requests: 100000, max_pending_requests: 100000 } }
`
}

interface Row { upstreamRps: number; clientRps: number; p50: number; p99: number; inputsPerCall: number; errors: number }

const body = (model: string, i: number) => JSON.stringify({ model, input: `caller text number ${i} for the embeddings bench`, encoding_format: 'float' })

/** 200 callers, each with one request in flight at a time, for SECONDS. */
async function closedLoop(origin: string, model: string, counts: Counts): Promise<Row> {
  const pool = new Pool(origin, { connections: CALLERS, pipelining: 1 })
  const latencies: number[] = []
  let errors = 0
  const start = { requests: counts.requests, inputs: counts.inputs }
  const t0 = performance.now()
  const until = t0 + SECONDS * 1000
  let n = 0
  const caller = async () => {
    while (performance.now() < until) {
      const sent = performance.now()
      try {
        const r = await pool.request({ path: '/v1/embeddings', method: 'POST', headers: { 'content-type': 'application/json' }, body: body(model, n++) })
        const text = await r.body.text()
        if (r.statusCode !== 200 || !text.includes('"embedding"')) errors++
        else latencies.push(performance.now() - sent)
      } catch {
        errors++
      }
    }
  }
  await Promise.all(Array.from({ length: CALLERS }, caller))
  const elapsed = (performance.now() - t0) / 1000
  await pool.close()
  latencies.sort((a, b) => a - b)
  const calls = counts.requests - start.requests
  return { upstreamRps: calls / elapsed, clientRps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), inputsPerCall: (counts.inputs - start.inputs) / Math.max(1, calls), errors }
}

async function fixedRate(origin: string, model: string, counts: Counts): Promise<Row> {
  const start = { requests: counts.requests, inputs: counts.inputs }
  const t0 = performance.now()
  const r = await openLoop(origin, '/v1/embeddings', body(model, 0), RATE, SECONDS)
  const elapsed = (performance.now() - t0) / 1000
  const calls = counts.requests - start.requests
  return { upstreamRps: calls / elapsed, clientRps: r.ok / elapsed, p50: r.p50, p99: r.p99, inputsPerCall: (counts.inputs - start.inputs) / Math.max(1, calls), errors: r.errors }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function main(): Promise<void> {
  killChildrenOnExit()
  pinSelf()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-embeddings-bench-'))
  try {
    const [mockPort, listen, admin] = await freePorts(3)
    const counts = await startMock(mockPort)
    const file = join(dir, 'gateway.yaml')
    writeFileSync(file, gatewayConfig(listen, admin, mockPort))
    const child = startChild('switchyard', ...onProxyCpu(process.execPath, [CLI, 'run', '-c', file, '--workers', '1']))
    await waitReady(child, `http://127.0.0.1:${admin}/ready`, { timeoutMs: 20_000 })
    const origin = `http://127.0.0.1:${listen}`
    // Warm-up: JIT and connection pools on both paths.
    for (const model of ['emb-plain', 'emb-batched']) await closedLoop(origin, model, counts)
    const closed: { plain: Row; batched: Row }[] = []
    const open: { plain: Row; batched: Row }[] = []
    for (let i = 0; i < ROUNDS; i++) {
      const plain = await closedLoop(origin, 'emb-plain', counts)
      const batched = await closedLoop(origin, 'emb-batched', counts)
      closed.push({ plain, batched })
      console.error(`embeddings bench: round ${i + 1} closed loop: plain ${plain.upstreamRps.toFixed(0)} upstream req/s p50 ${plain.p50.toFixed(1)} ms; batched ${batched.upstreamRps.toFixed(0)} upstream req/s p50 ${batched.p50.toFixed(1)} ms`)
      const oplain = await fixedRate(origin, 'emb-plain', counts)
      const obatched = await fixedRate(origin, 'emb-batched', counts)
      open.push({ plain: oplain, batched: obatched })
      console.error(`embeddings bench: round ${i + 1} open loop: plain p50 ${oplain.p50.toFixed(1)} ms; batched p50 ${obatched.p50.toFixed(1)} ms, ${obatched.inputsPerCall.toFixed(1)} inputs per call`)
    }
    const text = report(closed, open)
    writeFileSync(join(fileURLToPath(new URL('../../bench/', import.meta.url)), 'EMBEDDINGS.md'), text)
    console.log(text)
  } finally {
    await stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
  process.exit(0)
}

function report(closed: { plain: Row; batched: Row }[], open: { plain: Row; batched: Row }[]): string {
  const m = (rows: { plain: Row; batched: Row }[], side: 'plain' | 'batched', k: keyof Row) => median(rows.map((r) => r[side][k]))
  const cut = median(closed.map((r) => r.plain.upstreamRps / r.batched.upstreamRps))
  const added = median(closed.map((r) => r.batched.p50 - r.plain.p50))
  const openAdded = median(open.map((r) => r.batched.p50 - r.plain.p50))
  const line = (label: string, rows: { plain: Row; batched: Row }[], side: 'plain' | 'batched') =>
    `| ${label} | ${m(rows, side, 'clientRps').toFixed(0)} | ${m(rows, side, 'upstreamRps').toFixed(0)} | ${m(rows, side, 'inputsPerCall').toFixed(1)} | ${m(rows, side, 'p50').toFixed(1)} | ${m(rows, side, 'p99').toFixed(1)} | ${rows.reduce((n, r) => n + r[side].errors, 0)} |`
  return [
    '# Embedding micro-batching: upstream requests and caller latency, same run',
    '',
    `- date: ${new Date().toISOString()}; ${ROUNDS} interleaved rounds of ${SECONDS}s per row, medians; gateway --workers 1; ${pinningNote()}`,
    `- load average at the end (other engineers' work on this box): ${loadavg().map((x) => x.toFixed(1)).join(' / ')}`,
    `- upstream: a mock that answers every request after ${UPSTREAM_MS} ms whatever its size (the per-request cost), counting requests and inputs`,
    `- plain = cluster without batching; batched = the same with \`embedding_batching: {}\` (window ${WINDOW_MS} ms, 100 inputs)`,
    '',
    '| row | client req/s | upstream req/s | inputs per upstream call | client p50 ms | client p99 ms | errors |',
    '|---|---|---|---|---|---|---|',
    line(`closed loop, ${CALLERS} callers, plain`, closed, 'plain'),
    line(`closed loop, ${CALLERS} callers, batched`, closed, 'batched'),
    line(`open loop, ${RATE} req/s, plain`, open, 'plain'),
    line(`open loop, ${RATE} req/s, batched`, open, 'batched'),
    '',
    `- ${CALLERS} callers: upstream requests cut ${cut.toFixed(1)}× (median of per-round ratios) — target ≥ 10×: ${cut >= 10 ? 'PASS' : 'FAIL'}`,
    `- ${CALLERS} callers: added p50 ${added.toFixed(1)} ms (batched − plain, median of rounds) — target ≤ window + 2 ms = ${WINDOW_MS + 2} ms: ${added <= WINDOW_MS + 2 ? 'PASS' : 'FAIL'}`,
    `- ${RATE} req/s: added p50 ${openAdded.toFixed(1)} ms: at a fixed rate a batch closes on its window, so a request waits for the rest of it (about half the window at the median)`,
    '',
  ].join('\n')
}

main().catch((e) => {
  console.error(e)
  void stopAll().finally(() => process.exit(1))
})
