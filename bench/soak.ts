// `node dist/bench/run.js --soak`: 1M JSON requests through Switchyard, RSS after every 100k. A leak shows as
// RSS that keeps climbing after the first rounds (JIT, pools and buffers warm up in those); target ≤ 150 MB.
//   SOAK_REQUESTS=1000000   total requests      SOAK_TARGET=bare   soak the bare pass-through instead (harness check)
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePorts, startChild, waitReady, type Child } from './children.js'
import { mockConf, startNginx } from './nginx.js'
import { CHAT_PATH, REQUEST } from './payloads.js'
import { onProxyCpu } from './pinning.js'
import { peakRssMb, rssMb } from './proc-stats.js'
import { startSwitchyard, switchyardMissing } from './switchyard.js'
import { wrk } from './wrk.js'

const SOAK_MD = fileURLToPath(new URL('../../bench/SOAK.md', import.meta.url))
const STEP = 100_000

/**
 * wrk has no request-count limit. Each thread stops itself after its share and appends a line to `doneFile`;
 * a stopped thread does not end the run (wrk sleeps for -d regardless), so the harness SIGINTs wrk once every
 * thread has reported, and wrk prints its totals as usual.
 */
function countedScript(dir: string, perThread: number, doneFile: string): string {
  const file = join(dir, 'soak.lua')
  writeFileSync(file, `wrk.method = "POST"
wrk.body = [==[${REQUEST.json}]==]
wrk.headers["Content-Type"] = "application/json"
local n = 0
function response(status, headers, body)
  n = n + 1
  if n == ${perThread} then
    local f = io.open("${doneFile}", "a")
    f:write("done\\n")
    f:close()
    wrk.thread:stop()
  end
end
`)
  return file
}

const THREADS = 2
const linesIn = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0)

export async function runSoak(dir: string): Promise<void> {
  const total = Number(process.env.SOAK_REQUESTS ?? 1_000_000)
  const target = process.env.SOAK_TARGET === 'bare' ? 'bare' : 'switchyard'
  const [j1, j2, s1, s2, gw, admin] = await freePorts(6)
  const mockDir = join(dir, 'mock')
  await startNginx('mock-nginx', mockDir, mockConf(mockDir, { json: [j1, j2], sse: [s1, s2] }), j1)

  let server: Child
  if (target === 'bare') {
    server = startChild('bare', ...onProxyCpu(process.execPath, [fileURLToPath(new URL('./bare-passthrough.js', import.meta.url)), `${gw}=http://127.0.0.1:${j1}`]))
    await waitReady(server, `http://127.0.0.1:${gw}${CHAT_PATH}`, { method: 'POST', body: REQUEST.json })
  } else {
    const missing = switchyardMissing()
    if (missing) throw new Error(`--soak needs Switchyard: ${missing}`)
    // The real-time lane is unused here; pointing it at the JSON mock keeps the config valid without another mock.
    server = await startSwitchyard(dir, { admin, listen: gw, json: [j1, j2], sse: [s1, s2], ttft: [j1] })
  }

  const doneFile = join(dir, 'soak-done')
  const script = countedScript(dir, STEP / THREADS, doneFile)
  const samples: { done: number, rssMb: number, rps: number, errors: number }[] = [{ done: 0, rssMb: rssMb(server.pid), rps: 0, errors: 0 }]
  console.error(`soak: ${total.toLocaleString('en-US')} requests through ${target}, RSS every ${STEP.toLocaleString('en-US')}`)
  for (let done = 0; done < total;) {
    rmSync(doneFile, { force: true })
    const t0 = Date.now() // a wedged target must not hold the run for wrk's whole -d
    const stopWhen = () => linesIn(doneFile) >= THREADS || Date.now() - t0 > 300_000
    const w = await wrk(`http://127.0.0.1:${gw}${CHAT_PATH}`, script, { seconds: 3600, threads: THREADS, connections: 64, stopWhen })
    done += w.requests
    const s = { done, rssMb: rssMb(server.pid), rps: w.rps, errors: w.errors }
    samples.push(s)
    console.error(`soak: ${s.done.toLocaleString('en-US')} requests, RSS ${s.rssMb.toFixed(1)} MB, ${Math.round(s.rps)} req/s${s.errors ? `, ${s.errors} errors` : ''}`)
  }

  const peak = peakRssMb(server.pid)
  // Rounds 1–2 are warm-up (JIT, pool sockets, buffers); growth is judged from there to the end.
  const base = samples[Math.min(2, samples.length - 1)].rssMb
  const last = samples[samples.length - 1].rssMb
  const growth = last - base
  const verdict = [
    `${peak <= 150 ? 'PASS' : 'FAIL'} peak RSS ≤ 150 MB: ${peak.toFixed(1)} MB`,
    `${growth <= Math.max(5, base * 0.05) ? 'PASS' : 'FAIL'} not growing: ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB from ${samples[Math.min(2, samples.length - 1)].done.toLocaleString('en-US')} to ${samples[samples.length - 1].done.toLocaleString('en-US')} requests (allowed: 5 MB or 5%)`,
  ]
  const md = `# Soak: ${total.toLocaleString('en-US')} requests through ${target}

${new Date().toISOString()}, wrk -t2 -c64, POST ${CHAT_PATH} (JSON lane).

| requests | RSS MB | req/s | errors |
|---|---|---|---|
${samples.map((s) => `| ${s.done.toLocaleString('en-US')} | ${s.rssMb.toFixed(1)} | ${s.rps ? Math.round(s.rps) : '—'} | ${s.errors} |`).join('\n')}

${verdict.map((v) => `- ${v}`).join('\n')}
`
  console.log(`\n${md}`)
  writeFileSync(SOAK_MD, md)
  console.error(`soak: wrote ${SOAK_MD}`)
}
