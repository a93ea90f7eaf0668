// `node dist/bench/trace-threads.js`: where tracing at 100 % costs the gateway process its CPU, thread by
// thread. Rows (d) and (d+t) of the main bench (one worker pinned to the proxy CPU, the same nginx mock, the
// bench's OTLP sink) run interleaved rounds of wrk on the JSON and the SSE lane; each round reads every
// thread's CPU time from /proc and reports CPU-µs per request by thread, busiest first: the worker's JS thread
// (encoding, records), its export thread (the POSTs), V8's helpers (GC). Writes nothing to the tree.
// TRACE_RATE=N drives both rows at the same fixed rate (open-loop, bench/open-loop.ts) instead of wrk's closed
// loop: a row that serves fewer requests a second also wakes its idle peers (client, mock) more often per request,
// and the kernel bills those wake-ups to its sends, so closed-loop CPU per request overstates a slower row's cost.
//   npm run build && node dist/bench/trace-threads.js      # TRACE_ROUNDS=3 TRACE_SECONDS=5 TRACE_RATE=4000
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePorts, killChildrenOnExit, startChild, stopAll, waitReady, type Child } from './children.js'
import { mockConf, startNginx } from './nginx.js'
import { CHAT_PATH, REQUEST } from './payloads.js'
import { pinSelf, pinningNote } from './pinning.js'
import { startSwitchyard } from './switchyard.js'
import { cpuSecondsByThread, threadDelta } from './proc-stats.js'
import { noiseProbe } from './noise.js'
import { wrk, writePostScript } from './wrk.js'
import { openLoop } from './open-loop.js'

const SECONDS = Number(process.env.TRACE_SECONDS ?? 5)
const ROUNDS = Number(process.env.TRACE_ROUNDS ?? 3)
const RATE = Number(process.env.TRACE_RATE ?? 0)
const RANKS = ['busiest', '2nd', '3rd', '4th', '5th']

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function main(): Promise<void> {
  killChildrenOnExit()
  pinSelf()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-trace-threads-'))
  try {
    const [j1, j2, s1, s2, gwD, adminD, gwT, adminT, collector] = await freePorts(9)
    const mockDir = join(dir, 'mock')
    await startNginx('mock-nginx', mockDir, mockConf(mockDir, { json: [j1, j2], sse: [s1, s2] }), j1)
    const sink = startChild('otlp-sink', process.execPath, [fileURLToPath(new URL('./otlp-sink.js', import.meta.url)), String(collector)])
    await waitReady(sink, `http://127.0.0.1:${collector}/stats`)
    const ports = (listen: number, admin: number) => ({ admin, listen, json: [j1, j2], sse: [s1, s2], ttft: [s1, s2], collector })
    const rows: [string, Child, number][] = [
      ['(d)', await startSwitchyard(dir, ports(gwD, adminD)), gwD],
      ['(d+t)', await startSwitchyard(dir, ports(gwT, adminT), [], 'traced'), gwT],
    ]
    const scripts = { json: writePostScript(dir, 'json', REQUEST.json), sse: writePostScript(dir, 'sse', REQUEST.sse) }
    const results = new Map<string, number[][]>() // `${row} ${lane}` → per round, µs/req by rank + total
    for (const [, , port] of rows) for (const s of Object.values(scripts)) await wrk(`http://127.0.0.1:${port}${CHAT_PATH}`, s, { seconds: 2, connections: 64, threads: 2 })
    const noise: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      for (const lane of ['json', 'sse'] as const) {
        for (const [label, child, port] of rows) {
          const before = cpuSecondsByThread(child.pid)
          const probe = noiseProbe(process.pid)
          const r = RATE > 0
            ? await openLoop(`http://127.0.0.1:${port}`, CHAT_PATH, REQUEST[lane], RATE, SECONDS).then((o) => ({ requests: o.ok + o.errors, rps: (o.ok + o.errors) / SECONDS }))
            : await wrk(`http://127.0.0.1:${port}${CHAT_PATH}`, scripts[lane], { seconds: SECONDS, connections: 64, threads: 2 })
          noise.push(probe().otherCores)
          const us = threadDelta(before, cpuSecondsByThread(child.pid)).map(([, s]) => (s * 1e6) / r.requests)
          const row = [...us.slice(0, RANKS.length), us.slice(RANKS.length).reduce((a, b) => a + b, 0), us.reduce((a, b) => a + b, 0)]
          const k = `${label} ${lane}`
          results.set(k, [...(results.get(k) ?? []), row])
          console.error(`trace-threads: round ${round + 1} ${k}: ${r.rps.toFixed(0)} req/s, ${row.map((x) => x.toFixed(1)).join(' / ')} µs`)
        }
      }
    }
    const lines = [
      `# CPU by thread, (d) and (d+t) tracing 100 % (${new Date().toISOString()}; ${ROUNDS} interleaved rounds of ${SECONDS}s ${RATE > 0 ? `open-loop at ${RATE} req/s` : 'wrk -t2 -c64'}; ${pinningNote()}; noise median ${median(noise).toFixed(2)} cores)`,
      '',
      `| row, lane | ${RANKS.join(' | ')} | all others | process |`,
      `|---|${RANKS.map(() => '---|').join('')}---|---|`,
      ...[...results].map(([k, rs]) => `| ${k} | ${rs[0].map((_, i) => median(rs.map((r) => r[i])).toFixed(1)).join(' | ')} |`),
      '',
    ]
    console.log(lines.join('\n'))
  } finally {
    await stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
