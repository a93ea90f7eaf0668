// `node dist/bench/run.js --soak`: 1M JSON requests through Switchyard, RSS and its breakdown after every 100k.
// A leak shows as RSS that keeps climbing after the first rounds (JIT, pools and buffers warm up in those); the
// footprint target is a peak (VmHWM, startup included) ≤ 120 MB with the default worker count.
//   SOAK_REQUESTS=1000000   total requests per target
//   SOAK_WORKERS=<n>        `--workers n` (default: the machine's core count, the gateway's default when unpinned;
//                           pinned to one CPU the gateway would default to 1)
//   SOAK_BASELINE=<dir>     also soak another built checkout (e.g. main) in the same run, rounds interleaved
//   SOAK_TARGET=bare        soak the bare pass-through instead (harness check)
//   SOAK_NODE_FLAGS="..."   extra node/V8 flags for the gateway under test (not the baseline), for experiments
//   SOAK_ENV="K=V ..."      extra environment for the gateway under test (not the baseline), e.g. malloc tunables
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePorts, startChild, stopChild, waitReady, type Child } from './children.js'
import type { HeapSample } from './heap-probe.js'
import { mockConf, startNginx } from './nginx.js'
import { noiseProbe } from './noise.js'
import { CHAT_PATH, REQUEST } from './payloads.js'
import { onProxyCpu } from './pinning.js'
import { cpuSeconds, statusMb } from './proc-stats.js'
import { CLI, switchyardConfig, switchyardMissing } from './switchyard.js'
import { wrk } from './wrk.js'

const SOAK_MD = fileURLToPath(new URL('../../bench/SOAK.md', import.meta.url))
const PROBE = fileURLToPath(new URL('./heap-probe.js', import.meta.url))
const STEP = 100_000
const PEAK_TARGET_MB = 120
const THREADS = 2
const IDLE_AFTER_MS = 10_000
const WORKERS = Number(process.env.SOAK_WORKERS ?? cpus().length)

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

const linesIn = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0)

/** One point of the soak: the process's memory and, when the heap probe runs, each isolate's heap. */
interface Sample {
  label: string
  rss: number
  anon: number
  file: number
  /** Heap committed by the main thread's isolate and by all worker isolates together (MB). */
  mainHeap?: number
  workerHeaps?: number
  /** Young generation committed by the worker isolates together (MB). */
  workerYoung?: number
  /** What V8 has malloc'ed outside the heaps (compiler zones), all isolates together (MB). */
  malloced?: number
  rps?: number
  cpuUsPerReq?: number
  otherCores?: number
  errors?: number
}

interface Target {
  name: string
  server: Child
  probeDir?: string
  samples: Sample[]
  url: string
  startupPeak: number
  /** The highest-RSS moment seen by a 100 ms sampler while the rounds ran, with its breakdown. */
  peakSample?: Sample
  done: number
}

function heaps(t: Target): HeapSample[] {
  if (!t.probeDir) return []
  const own = `${t.server.pid}-`
  return readdirSync(t.probeDir).filter((f) => f.startsWith(own) && f.endsWith('.json'))
    .flatMap((f) => { try { return [JSON.parse(readFileSync(join(t.probeDir!, f), 'utf8')) as HeapSample] } catch { return [] } })
}

function sample(t: Target, label: string, round?: Partial<Sample>): Sample {
  const pid = t.server.pid
  const h = heaps(t)
  const workers = h.filter((s) => s.threadId !== 0)
  const sum = (xs: HeapSample[], k: keyof HeapSample) => xs.reduce((a, s) => a + s[k], 0)
  return {
    label,
    rss: statusMb(pid, 'VmRSS'),
    anon: statusMb(pid, 'RssAnon'),
    file: statusMb(pid, 'RssFile'),
    ...(h.length && { mainHeap: sum(h.filter((s) => s.threadId === 0), 'committed'), workerHeaps: sum(workers, 'committed'), workerYoung: sum(workers, 'young'), malloced: sum(h, 'malloced') }),
    ...round,
  }
}

/** `SOAK_ENV="K=V K=V"`: variables for the gateway under test only, so one run compares it with the baseline. */
function targetEnv(spec: string | undefined): Record<string, string> {
  const env: Record<string, string> = {}
  for (const pair of spec?.split(/\s+/).filter(Boolean) ?? []) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new Error(`SOAK_ENV: "${pair}" is not NAME=value`)
    env[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return env
}

async function startTarget(name: string, dir: string, cli: string | 'bare', ports: { mock: Record<'json' | 'sse', number[]> }, nodeFlags: readonly string[] = [], env: Record<string, string> = {}): Promise<Target> {
  const [listen, admin] = await freePorts(2)
  let server: Child
  let probeDir: string | undefined
  if (cli === 'bare') {
    server = startChild(name, ...onProxyCpu(process.execPath, [fileURLToPath(new URL('./bare-passthrough.js', import.meta.url)), `${listen}=http://127.0.0.1:${ports.mock.json[0]}`]))
    await waitReady(server, `http://127.0.0.1:${listen}${CHAT_PATH}`, { method: 'POST', body: REQUEST.json })
  } else {
    const file = join(dir, `${name}.yaml`)
    // The real-time lane is unused here; pointing it at the JSON mock keeps the config valid without another mock.
    writeFileSync(file, switchyardConfig({ admin, listen, json: ports.mock.json, sse: ports.mock.sse, ttft: [ports.mock.json[0]] }))
    probeDir = join(dir, `probe-${name}`)
    mkdirSync(probeDir, { recursive: true })
    const workers = ['--workers', String(WORKERS)]
    const args = ['run', '-c', file, ...workers]
    // Started as a user starts it: the `switchyard` command itself, whose launcher sets the process's malloc
    // tunables (bin/switchyard.js), with the heap probe loaded through NODE_OPTIONS. Node flags need node on the
    // command line, so an experiment with SOAK_NODE_FLAGS starts `node <flags> bin/switchyard.js` (no launcher).
    const [cmd, argv] = nodeFlags.length ? [process.execPath, [...nodeFlags, '--import', PROBE, cli, ...args]] : [cli, args]
    const nodeOptions = nodeFlags.length ? process.env.NODE_OPTIONS : [process.env.NODE_OPTIONS, `--import=${JSON.stringify(PROBE)}`].filter(Boolean).join(' ')
    server = startChild(name, ...onProxyCpu(cmd, argv), { ...process.env, ...env, ...(nodeOptions && { NODE_OPTIONS: nodeOptions }), SOAK_PROBE_DIR: probeDir })
    await waitReady(server, `http://127.0.0.1:${admin}/ready`, { timeoutMs: 20_000 })
  }
  const t: Target = { name, server, probeDir, url: `http://127.0.0.1:${listen}${CHAT_PATH}`, samples: [], startupPeak: 0, done: 0 }
  await new Promise((r) => setTimeout(r, 300)) // one probe tick, so the first sample has every isolate
  t.startupPeak = statusMb(server.pid, 'VmHWM')
  t.samples.push(sample(t, 'ready'))
  return t
}

async function round(t: Target, script: string, doneFile: string): Promise<void> {
  rmSync(doneFile, { force: true })
  const t0 = Date.now() // a wedged target must not hold the run for wrk's whole -d
  const stopWhen = () => linesIn(doneFile) >= THREADS || Date.now() - t0 > 300_000
  const cpu0 = cpuSeconds(t.server.pid)
  const noise = noiseProbe(process.pid)
  const w = await wrk(t.url, script, { seconds: 3600, threads: THREADS, connections: 64, stopWhen })
  const { otherCores } = noise() // CPU of processes outside this run (the gateways, mocks and wrk are our children)
  const cpu = cpuSeconds(t.server.pid) - cpu0
  t.done += w.requests
  const s = sample(t, t.done.toLocaleString('en-US'), { rps: w.rps, cpuUsPerReq: (cpu * 1e6) / w.requests, otherCores, errors: w.errors })
  t.samples.push(s)
  console.error(`soak: ${t.name}: ${s.label} requests, RSS ${s.rss.toFixed(1)} MB (anon ${s.anon.toFixed(1)}), ${Math.round(w.rps)} req/s, ${s.cpuUsPerReq!.toFixed(1)} µs CPU/req${w.errors ? `, ${w.errors} errors` : ''}`)
}

const f1 = (n: number | undefined) => (n === undefined ? '—' : n.toFixed(1))
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN }

function report(t: Target, peak: number): string {
  const rounds = t.samples.filter((s) => s.rps !== undefined)
  const loaded = rounds.slice(2) // rounds 1–2 are warm-up (JIT, pool sockets, buffers)
  const base = rounds[Math.min(1, rounds.length - 1)]
  const last = rounds[rounds.length - 1]
  const growth = last.rss - base.rss
  const probe = t.samples.some((s) => s.mainHeap !== undefined)
  const heapsOf = (probes: HeapSample[]) => probes.sort((a, b) => a.threadId - b.threadId)
    .map((p) => `${p.threadId === 0 ? 'main' : `worker ${p.threadId}`} ${p.peakCommitted.toFixed(1)} (young ${p.peakYoung.toFixed(1)}; V8 malloc peak ${p.peakMalloced.toFixed(1)})`).join(', ')
  return `### ${t.name}

| requests | RSS MB | anon | file | main heap | worker heaps | worker young | V8 malloc | req/s | CPU µs/req | other cores | errors |
|---|---|---|---|---|---|---|---|---|---|---|---|
${[...t.samples, ...(t.peakSample ? [{ ...t.peakSample, label: `highest sampled (${t.peakSample.label})` }] : [])].map((s) => `| ${s.label} | ${f1(s.rss)} | ${f1(s.anon)} | ${f1(s.file)} | ${f1(s.mainHeap)} | ${f1(s.workerHeaps)} | ${f1(s.workerYoung)} | ${f1(s.malloced)} | ${s.rps ? Math.round(s.rps) : '—'} | ${f1(s.cpuUsPerReq)} | ${s.otherCores === undefined ? '—' : s.otherCores.toFixed(2)} | ${s.errors ?? '—'} |`).join('\n')}

- ${peak <= PEAK_TARGET_MB ? 'PASS' : 'FAIL'} peak RSS (VmHWM) ≤ ${PEAK_TARGET_MB} MB: ${peak.toFixed(1)} MB (of which at startup: ${t.startupPeak.toFixed(1)} MB)
- ${growth <= Math.max(5, base.rss * 0.05) ? 'PASS' : 'FAIL'} not growing: ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB from ${base.label} to ${last.label} requests (allowed: 5 MB or 5%)
- after warm-up: median ${Math.round(median(loaded.map((s) => s.rps!)))} req/s, ${median(loaded.map((s) => s.cpuUsPerReq!)).toFixed(1)} µs CPU/req${probe ? `\n- peak heap committed per isolate, MB: ${heapsOf(heaps(t))}` : ''}
`
}

/** SOAK.md keeps its notes; only the part between the two markers is the last run's output. */
function writeResults(md: string): void {
  const [open, close] = ['<!-- soak results: written by bench/soak.ts -->', '<!-- end of soak results -->']
  const old = existsSync(SOAK_MD) ? readFileSync(SOAK_MD, 'utf8') : ''
  const a = old.indexOf(open)
  const b = old.indexOf(close)
  const block = `${open}\n${md}\n${close}`
  writeFileSync(SOAK_MD, a >= 0 && b > a ? old.slice(0, a) + block + old.slice(b + close.length) : `${block}\n`)
}

export async function runSoak(dir: string): Promise<void> {
  const total = Number(process.env.SOAK_REQUESTS ?? 1_000_000)
  const [j1, j2, s1, s2] = await freePorts(4)
  const mockDir = join(dir, 'mock')
  await startNginx('mock-nginx', mockDir, mockConf(mockDir, { json: [j1, j2], sse: [s1, s2] }), j1)
  const ports = { mock: { json: [j1, j2], sse: [s1, s2] } }

  const targets: Target[] = []
  if (process.env.SOAK_TARGET === 'bare') {
    targets.push(await startTarget('bare', dir, 'bare', ports))
  } else {
    const missing = switchyardMissing()
    if (missing) throw new Error(`--soak needs Switchyard: ${missing}`)
    const baseline = process.env.SOAK_BASELINE
    if (baseline) targets.push(await startTarget('baseline', dir, join(baseline, 'bin', 'switchyard.js'), ports))
    targets.push(await startTarget('switchyard', dir, CLI, ports, process.env.SOAK_NODE_FLAGS?.split(/\s+/).filter(Boolean), targetEnv(process.env.SOAK_ENV)))
  }

  const doneFile = join(dir, 'soak-done')
  const script = countedScript(dir, STEP / THREADS, doneFile)
  console.error(`soak: ${total.toLocaleString('en-US')} requests through ${targets.map((t) => t.name).join(' and ')}, RSS every ${STEP.toLocaleString('en-US')}`)
  // VmHWM says how high RSS went, not what it was made of then: sample every 100 ms and keep the highest.
  const watch = setInterval(() => {
    for (const t of targets) {
      const s = sample(t, `after ${t.done.toLocaleString('en-US')}`)
      if (s.rss > (t.peakSample?.rss ?? 0)) t.peakSample = s
    }
  }, 100)
  // Rounds alternate between targets, and which goes first, so drift on a shared box lands on both alike.
  for (let i = 0; targets.some((t) => t.done < total); i++) {
    const order = i % 2 ? [...targets].reverse() : targets
    for (const t of order) if (t.done < total) await round(t, script, doneFile)
  }
  clearInterval(watch)
  await new Promise((r) => setTimeout(r, IDLE_AFTER_MS))
  for (const t of targets) t.samples.push(sample(t, `idle ${IDLE_AFTER_MS / 1000} s later`))
  const peaks = targets.map((t) => statusMb(t.server.pid, 'VmHWM'))

  const md = `## Last soak run: ${total.toLocaleString('en-US')} requests through ${targets.map((t) => t.name).join(' and ')}

${new Date().toISOString()}, wrk -t2 -c64, POST ${CHAT_PATH} (JSON lane), --workers ${WORKERS}${process.env.SOAK_NODE_FLAGS ? `, switchyard run with \`${process.env.SOAK_NODE_FLAGS}\`` : ''}${process.env.SOAK_ENV ? `, switchyard's environment plus \`${process.env.SOAK_ENV}\`` : ''}${targets.length > 1 ? ', rounds interleaved' : ''}.
Heaps are V8's committed bytes per isolate (\`heap-probe.ts\`), young = both semi-spaces; anon + file = RSS.

${targets.map((t, i) => report(t, peaks[i])).join('\n')}`
  console.log(`\n${md}`)
  writeResults(md)
  console.error(`soak: wrote ${SOAK_MD}`)
  await Promise.all(targets.map((t) => stopChild(t.server)))
}
