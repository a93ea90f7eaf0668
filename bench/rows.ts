// The systems under test, started side by side for one run: the mocks, nginx as proxy, the two bare
// pass-throughs and Switchyard. A row that cannot start or answers wrongly is kept with the reason, so the
// table says why it has no numbers instead of silently dropping it.
import { connect } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { freePorts, startChild, waitReady, type Child } from './children.js'
import { mockConf, proxyConf, startNginx } from './nginx.js'
import { AUTH_HEADER, CHAT_PATH, COMPLETION_JSON, REQUEST, SSE_CHUNKS } from './payloads.js'
import { onProxyCpu, pinningNote } from './pinning.js'
import type { RowKey, RowResult } from './report.js'
import { baselineCli, startSwitchyard, switchyardMissing } from './switchyard.js'
import { writeNoopPlugin } from './wasm-noop.js'

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

/** Row (g)'s private Redis (Debian's redis-server, no persistence), answering PING before the row starts. */
async function startRedis(port: number): Promise<Child> {
  const redis = startChild('redis', process.env.REDIS_SERVER_BIN ?? 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'])
  const deadline = Date.now() + 10_000
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write('PING\r\n'))
      s.once('data', (b) => { s.destroy(); resolve(b.toString().startsWith('+PONG')) })
      s.once('error', () => resolve(false))
    })
    if (ok) return redis
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer PING: ${redis.output()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Where a row receives each kind of traffic. Plain proxies have a port per lane; Switchyard routes by model. */
export interface Row {
  key: RowKey
  label: string
  lanes: { json: string, sse: string, ttft: string }
  /** The process tree whose CPU and memory we report; none for the direct row. */
  server?: Child
  result: RowResult
}

export async function startRows(dir: string, log: (msg: string) => void): Promise<Row[]> {
  const [j1, j2, s1, s2, t1, t2, nJ, nS, nT, cJ, cS, cT, c2J, c2S, c2T, gw, admin, gw2, admin2, gw0, admin0, gw3, admin3, gw4, admin4, redisPort, gw5, admin5, gw6, admin6, gw7, admin7, collector, gw8, admin8, gw9, admin9] = await freePorts(37)
  const at = (port: number) => `http://127.0.0.1:${port}`

  log(`starting mocks and proxies (${pinningNote()})`)
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
    { key: 'resilient', label: '(e) Switchyard + retries/breakers', lanes: lanes(gw2, gw2, gw2) },
    { key: 'auth', label: '(f) Switchyard + api_key + local limits', lanes: lanes(gw3, gw3, gw3) },
    { key: 'global', label: '(g) Switchyard + api_key + global limits (Redis)', lanes: lanes(gw4, gw4, gw4) },
    { key: 'nometrics', label: '(d-) Switchyard, metrics off', lanes: lanes(gw5, gw5, gw5) },
    { key: 'traced', label: '(d+t) Switchyard + tracing 100 % (local OTLP receiver)', lanes: lanes(gw6, gw6, gw6) },
    { key: 'trace0', label: '(d+t0) Switchyard + tracing, sampling 0', lanes: lanes(gw7, gw7, gw7) },
    { key: 'wasm', label: '(d+w) Switchyard + no-op WASM plugin', lanes: lanes(gw8, gw8, gw8) },
    { key: 'plugin', label: '(d+p) Switchyard + no-op JS plugin', lanes: lanes(gw9, gw9, gw9) },
    ...(baselineCli() ? [{ key: 'baseline', label: `(d0) Switchyard baseline (${process.env.BENCH_BASELINE})`, lanes: lanes(gw0, gw0, gw0) }] : []),
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

  const re = rows.find((r) => r.key === 'resilient')!
  if (!re.result.skipped && (missing || sy.result.skipped)) re.result.skipped = sy.result.skipped ?? missing ?? 'Switchyard not available'
  if (!re.result.skipped) {
    try {
      re.server = await startSwitchyard(dir, { admin: admin2, listen: gw2, json: [j1, j2], sse: [s1, s2], ttft: [t1, t2] }, [], 'resilient')
    } catch (err) {
      re.result.skipped = `failed to start: ${(err as Error).message}`
      log(`skipping (e): ${(err as Error).message}`)
    }
  }

  const au = rows.find((r) => r.key === 'auth')!
  if (!au.result.skipped && (missing || sy.result.skipped)) au.result.skipped = sy.result.skipped ?? missing ?? 'Switchyard not available'
  if (!au.result.skipped) {
    try {
      au.server = await startSwitchyard(dir, { admin: admin3, listen: gw3, json: [j1, j2], sse: [s1, s2], ttft: [t1, t2] }, [], 'auth')
    } catch (err) {
      au.result.skipped = `failed to start: ${(err as Error).message}`
      log(`skipping (f): ${(err as Error).message}`)
    }
  }

  const gl = rows.find((r) => r.key === 'global')!
  if (!gl.result.skipped && (missing || sy.result.skipped)) gl.result.skipped = sy.result.skipped ?? missing ?? 'Switchyard not available'
  if (!gl.result.skipped) {
    try {
      await startRedis(redisPort)
      gl.server = await startSwitchyard(dir, { admin: admin4, listen: gw4, json: [j1, j2], sse: [s1, s2], ttft: [t1, t2], redis: redisPort }, [], 'global')
    } catch (err) {
      gl.result.skipped = `failed to start: ${(err as Error).message}`
      log(`skipping (g): ${(err as Error).message}`)
    }
  }

  const nm = rows.find((r) => r.key === 'nometrics')!
  if (!nm.result.skipped && (missing || sy.result.skipped)) nm.result.skipped = sy.result.skipped ?? missing ?? 'Switchyard not available'
  if (!nm.result.skipped) {
    try {
      nm.server = await startSwitchyard(dir, { admin: admin5, listen: gw5, json: [j1, j2], sse: [s1, s2], ttft: [t1, t2] }, [], 'no-metrics')
    } catch (err) {
      nm.result.skipped = `failed to start: ${(err as Error).message}`
      log(`skipping (d-): ${(err as Error).message}`)
    }
  }

  // Rows (d+t), (d+t0): row (d) tracing to a local OTLP receiver (on the load generator's CPU, like the mocks).
  const tracedRows = rows.filter((r) => (r.key === 'traced' || r.key === 'trace0') && !r.result.skipped)
  if (tracedRows.length > 0) {
    try {
      const sink = startChild('otlp-sink', process.execPath, [here('./otlp-sink.js'), String(collector)])
      await waitReady(sink, `${at(collector)}/stats`)
    } catch (err) {
      for (const r of tracedRows) r.result.skipped = `OTLP receiver failed to start: ${(err as Error).message}`
    }
  }
  for (const r of tracedRows) {
    if (!r.result.skipped && (missing || sy.result.skipped)) r.result.skipped = sy.result.skipped ?? missing ?? 'Switchyard not available'
    if (r.result.skipped) continue
    try {
      const ports = r.key === 'traced' ? { admin: admin6, listen: gw6 } : { admin: admin7, listen: gw7 }
      r.server = await startSwitchyard(dir, { ...ports, json: [j1, j2], sse: [s1, s2], ttft: [t1, t2], collector }, [], r.key === 'traced' ? 'traced' : 'trace0')
    } catch (err) {
      r.result.skipped = `failed to start: ${(err as Error).message}`
      log(`skipping ${r.label}: ${(err as Error).message}`)
    }
  }

  // Row (d+w): row (d) with a no-op proxy-wasm filter, its module built from WAT here.
  const wr = rows.find((r) => r.key === 'wasm')!
  if (!wr.result.skipped && (missing || sy.result.skipped)) wr.result.skipped = sy.result.skipped ?? missing ?? 'Switchyard not available'
  if (!wr.result.skipped) {
    try {
      const wasmModule = await writeNoopPlugin(dir)
      wr.server = await startSwitchyard(dir, { admin: admin8, listen: gw8, json: [j1, j2], sse: [s1, s2], ttft: [t1, t2], wasmModule }, [], 'wasm')
    } catch (err) {
      wr.result.skipped = `failed to start: ${(err as Error).message}`
      log(`skipping (d+w): ${(err as Error).message}`)
    }
  }

  // Row (d+p): row (d) with a no-op `type: plugin` filter (issue 19).
  const pl = rows.find((r) => r.key === 'plugin')!
  if (!pl.result.skipped && (missing || sy.result.skipped)) pl.result.skipped = sy.result.skipped ?? missing ?? 'Switchyard not available'
  if (!pl.result.skipped) {
    try {
      pl.server = await startSwitchyard(dir, { admin: admin9, listen: gw9, json: [j1, j2], sse: [s1, s2], ttft: [t1, t2] }, [], 'plugin')
    } catch (err) {
      pl.result.skipped = `failed to start: ${(err as Error).message}`
      log(`skipping (d+p): ${(err as Error).message}`)
    }
  }

  const base = rows.find((r) => r.key === 'baseline')
  if (base && !base.result.skipped) {
    try {
      base.server = await startSwitchyard(dir, { admin: admin0, listen: gw0, json: [j1, j2], sse: [s1, s2], ttft: [t1, t2] }, [], 'plain', baselineCli())
    } catch (err) {
      base.result.skipped = `failed to start: ${(err as Error).message}`
      log(`skipping (d0): ${(err as Error).message}`)
    }
  }

  for (const row of rows) {
    if (row.result.skipped) continue
    const problem = await sanity(row)
    if (problem) { row.result.skipped = `sanity check failed: ${problem}`; log(`${row.label}: ${row.result.skipped}`) }
  }
  return rows
}

/** One request per lane, checked against what the mock sends: a fast 404 must not pass for throughput. */
async function sanity(row: Row): Promise<string | null> {
  const post = async (origin: string, body: string) => {
    const r = await request(origin + CHAT_PATH, { method: 'POST', body, headers: { 'content-type': 'application/json', [AUTH_HEADER[0]]: AUTH_HEADER[1] } })
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
