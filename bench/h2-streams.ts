// `npm run bench:h2`: upstream HTTP/1.1 vs HTTP/2 (issue 18, part 5). 500 concurrent SSE streams through
// Switchyard (one worker) to a mock upstream that answers every stream with 5 chunks 20 ms apart: once to an
// HTTP/1.1 upstream (`pool: { connections: 512 }`, so no stream waits for a connection), once to an h2c upstream
// (`pool: { protocol: http2, connections: 4, max_concurrent_streams: 200 }`), interleaved over BENCH_ROUNDS
// rounds (default 5). Reports the upstream connections each used (counted by the mock: TCP connections for
// HTTP/1.1, sessions for HTTP/2) and the client-side p50/p99 time to the last byte.
//   BENCH_STREAMS=500  concurrent streams per round      BENCH_ROUNDS=5
import http from 'node:http'
import http2 from 'node:http2'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { freePorts, killChildrenOnExit, startChild, stopAll, waitReady } from './children.js'
import { CLI } from './switchyard.js'

const STREAMS = Number(process.env.BENCH_STREAMS ?? 500)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const CHUNKS = 5
const GAP_MS = 20

const chunk = (i: number) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: `piece ${i} ` }, finish_reason: null }] })}\n\n`
const LAST = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: CHUNKS, total_tokens: CHUNKS + 1 } })}\n\ndata: [DONE]\n\n`

/** Writes the SSE answer to anything with write/end (an HTTP/1.1 response or an HTTP/2 stream). */
function answer(out: { write(s: string): boolean; end(s: string): void; destroyed: boolean }): void {
  let i = 0
  const step = () => {
    if (out.destroyed) return
    if (i === CHUNKS) return out.end(LAST)
    out.write(chunk(i++))
    setTimeout(step, GAP_MS)
  }
  step()
}

interface Counted { connections: number; open: number; peak: number }

async function startUpstreams(h1Port: number, h2Port: number) {
  const h1: Counted = { connections: 0, open: 0, peak: 0 }
  const h2: Counted = { connections: 0, open: 0, peak: 0 }
  const s1 = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      answer(res)
    })
  })
  s1.on('connection', (sock) => {
    h1.connections++
    h1.peak = Math.max(h1.peak, ++h1.open)
    sock.on('close', () => h1.open--)
  })
  const s2 = http2.createServer({ settings: { maxConcurrentStreams: 1000 } })
  s2.on('session', (s) => {
    h2.connections++
    h2.peak = Math.max(h2.peak, ++h2.open)
    s.on('close', () => h2.open--)
  })
  s2.on('stream', (stream) => {
    stream.on('error', () => {})
    stream.resume()
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'text/event-stream' })
      answer(stream)
    })
  })
  await new Promise<void>((r) => s1.listen(h1Port, '127.0.0.1', r))
  await new Promise<void>((r) => s2.listen(h2Port, '127.0.0.1', r))
  return { h1, h2, close: () => { s1.close(); s2.close(); s1.closeAllConnections() } }
}

const BODY = (model: string) => JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] })

/** STREAMS streams at once; the time each took to its last byte. */
async function round(client: Pool, model: string): Promise<number[]> {
  const body = BODY(model)
  return Promise.all(Array.from({ length: STREAMS }, async () => {
    const t0 = performance.now()
    const r = await client.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body })
    const text = await r.body.text()
    if (r.statusCode !== 200 || !text.endsWith('data: [DONE]\n\n')) throw new Error(`${model}: status ${r.statusCode}: ${text.slice(0, 200)}`)
    return performance.now() - t0
  }))
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]

async function main(): Promise<void> {
  killChildrenOnExit()
  const [h1Port, h2Port, listen, admin] = await freePorts(4)
  const up = await startUpstreams(h1Port, h2Port)
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-h2-bench-'))
  const config = join(dir, 'config.yaml')
  writeFileSync(config, `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${listen}, route_table: main }]
routes:
  - name: main
    rules:
      - { match: { model: { exact: h2 } }, cluster: h2 }
      - cluster: h1
clusters:
  - name: h1
    provider: openai
    endpoints: [{ url: "http://127.0.0.1:${h1Port}/v1" }]
    pool: { connections: 512 }
  - name: h2
    provider: openai
    endpoints: [{ url: "http://127.0.0.1:${h2Port}/v1" }]
    pool: { protocol: http2, connections: 4, max_concurrent_streams: 200 }
`)
  const gw = startChild('switchyard', process.execPath, [CLI, 'run', '-c', config, '--workers', '1'])
  await waitReady(gw, `http://127.0.0.1:${admin}/ready`)
  const client = new Pool(`http://127.0.0.1:${listen}`, { connections: STREAMS, pipelining: 1 })
  const times: Record<'h1' | 'h2', number[]> = { h1: [], h2: [] }
  try {
    // Warm-up: both pools open their connections, the JIT settles.
    await round(client, 'h1')
    await round(client, 'h2')
    for (let i = 0; i < ROUNDS; i++) {
      for (const p of i % 2 === 0 ? (['h1', 'h2'] as const) : (['h2', 'h1'] as const)) times[p].push(...(await round(client, p)))
    }
  } finally {
    await client.close()
    await stopAll()
    up.close()
    rmSync(dir, { recursive: true, force: true })
  }
  const rows = (['h1', 'h2'] as const).map((p) => {
    const s = times[p].sort((a, b) => a - b)
    const c = up[p]
    return `| ${p === 'h1' ? 'HTTP/1.1, pool.connections 512' : 'HTTP/2 (h2c), pool.connections 4'} | ${STREAMS} | ${c.connections} | ${c.peak} | ${pct(s, 50).toFixed(1)} | ${pct(s, 99).toFixed(1)} | ${s[s.length - 1].toFixed(1)} |`
  })
  console.log(`| upstream protocol | concurrent streams | upstream connections opened | peak open | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|\n${rows.join('\n')}`)
  console.log(`(${ROUNDS} rounds + 1 warm-up each; an unproxied stream takes ${CHUNKS * GAP_MS} ms)`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
