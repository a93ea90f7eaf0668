// What telemetry costs the gateway's worker under load, from CPU profiles (the method of overhead.ts):
// row (d)'s config with metrics off, on, and with tracing (100 % and 0 % sampling, to a local OTLP receiver),
// each profiled under the same wrk load. Reported per variant: the worker's CPU µs per request (busy time /
// requests) and the share of busy time spent in telemetry code (runtime/telemetry/* and @opentelemetry/*).
// On a shared VM throughput ratios move ±15 % between rounds; a profile attributes the worker's own time,
// so other tenants' load does not change the share.
//
//   npm run build && node dist/bench/telemetry-profile.js          # ~2 min
//   TELEMETRY_PROFILE_VARIANTS=off,metrics TELEMETRY_PROFILE_SECONDS=8 node dist/bench/telemetry-profile.js
import { createServer, type Server } from 'node:http'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePorts, killChildrenOnExit, startChild, stopAll, stopChild, waitReady } from './children.js'
import { mockConf, startNginx } from './nginx.js'
import { CHAT_PATH, REQUEST } from './payloads.js'
import { CLI, switchyardConfig } from './switchyard.js'
import { wrk, writePostScript } from './wrk.js'

const SECONDS = Number(process.env.TELEMETRY_PROFILE_SECONDS ?? 8)
const TELEMETRY = /(runtime\/telemetry\/|@opentelemetry\/)/

const VARIANTS: Record<string, (collector: number) => string> = {
  off: () => 'telemetry: { metrics: { enabled: false } }',
  metrics: () => '',
  'trace-0': (c) => `telemetry: { metrics: { enabled: false }, tracing: { endpoint: "http://127.0.0.1:${c}/v1/traces", sampler: { ratio: 0 }, batch: { interval: 200ms } } }`,
  'trace-100': (c) => `telemetry: { metrics: { enabled: false }, tracing: { endpoint: "http://127.0.0.1:${c}/v1/traces", sampler: { ratio: 1 }, batch: { interval: 200ms } } }`,
  'metrics+trace-100': (c) => `telemetry: { tracing: { endpoint: "http://127.0.0.1:${c}/v1/traces", sampler: { ratio: 1 }, batch: { interval: 200ms } } }`,
}

interface Profile { nodes: { id: number; callFrame: { functionName: string; url: string } }[]; samples: number[]; timeDeltas: number[] }

/** The busiest thread's profile (the worker): busy µs, and the µs whose self time is in telemetry code. */
function telemetryTime(dir: string): { busyUs: number; telemetryUs: number; gcUs: number } {
  let best = { busyUs: 0, telemetryUs: 0, gcUs: 0 }
  for (const f of readdirSync(dir)) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile
    const nodes = new Map(p.nodes.map((n) => [n.id, n.callFrame]))
    const r = { busyUs: 0, telemetryUs: 0, gcUs: 0 }
    for (let i = 0; i < p.samples.length; i++) {
      const cf = nodes.get(p.samples[i])!
      if (cf.functionName === '(idle)') continue
      const dt = p.timeDeltas[i] ?? 0
      r.busyUs += dt
      if (TELEMETRY.test(cf.url)) r.telemetryUs += dt
      if (cf.functionName === '(garbage collector)') r.gcUs += dt
    }
    if (r.busyUs > best.busyUs) best = r
  }
  return best
}

/** An OTLP/HTTP receiver that accepts everything, counting bytes (the collector of the tracing variants). */
async function startReceiver(port: number): Promise<Server & { bytes: number }> {
  const server = Object.assign(createServer((req, res) => {
    req.on('data', (c: Buffer) => (server.bytes += c.length))
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
  }), { bytes: 0 })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return server
}

async function main(): Promise<void> {
  killChildrenOnExit()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-telemetry-'))
  const pick = process.env.TELEMETRY_PROFILE_VARIANTS?.split(',') ?? Object.keys(VARIANTS)
  const lanes = (process.env.TELEMETRY_PROFILE_LANES?.split(',') ?? ['json', 'sse']) as ('json' | 'sse')[]
  const [m1, m2, listen, admin, collector] = await freePorts(5)
  const receiver = await startReceiver(collector)
  try {
    const mockDir = join(dir, 'mock')
    await startNginx('mock-nginx', mockDir, mockConf(mockDir, { json: [m1], sse: [m2] }), m1)
    const lines = [`| lane | variant | requests | worker CPU µs/req | telemetry self time | GC share |`, '|---|---|---|---|---|---|']
    for (const lane of lanes) {
      for (const name of pick) {
        const yaml = join(dir, `${name}.yaml`)
        const mock = lane === 'json' ? [m1, m1] : [m2, m2]
        writeFileSync(yaml, `${VARIANTS[name](collector)}\n${switchyardConfig({ admin, listen, json: mock, sse: mock, ttft: mock }, 'plain')}`)
        const profDir = join(dir, `prof-${name}-${lane}`)
        console.error(`telemetry-profile: ${name} ${lane} (${SECONDS}s under wrk, profiled)`)
        const gw = startChild(`switchyard-${name}`, process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, CLI, 'run', '-c', yaml, '--workers', '1'])
        await waitReady(gw, `http://127.0.0.1:${admin}/ready`, { timeoutMs: 30_000 })
        const url = `http://127.0.0.1:${listen}${CHAT_PATH}`
        const script = writePostScript(dir, `${lane}-${name}`, lane === 'json' ? REQUEST.json : REQUEST.sse)
        const warm = await wrk(url, script, { seconds: 3, connections: 32, threads: 1 })
        const r = await wrk(url, script, { seconds: SECONDS, connections: 32, threads: 1 })
        if (r.errors > 0) throw new Error(`${name}/${lane}: ${r.errors} errors\n${r.raw}`)
        await stopChild(gw, 10_000)
        // TELEMETRY_PROFILE_KEEP=<dir>: keep the .cpuprofile files (open them in DevTools) instead of deleting them.
        if (process.env.TELEMETRY_PROFILE_KEEP) cpSync(profDir, join(process.env.TELEMETRY_PROFILE_KEEP, `${name}-${lane}`), { recursive: true })
        const t = telemetryTime(profDir)
        const requests = warm.requests + r.requests
        lines.push(`| ${lane} | ${name} | ${requests} | ${(t.busyUs / requests).toFixed(1)} | ${((100 * t.telemetryUs) / t.busyUs).toFixed(2)} % | ${((100 * t.gcUs) / t.busyUs).toFixed(1)} % |`)
      }
    }
    lines.push('', `receiver got ${(receiver.bytes / 1e6).toFixed(1)} MB of OTLP`)
    console.log(lines.join('\n'))
  } finally {
    receiver.close()
    await stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
