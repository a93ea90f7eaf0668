// Closed-loop throughput with wrk (C, multi-threaded: the load generator must not be the slowest part).
// wrk reports the latency of a closed loop, which hides queueing; we keep only its rate and error counts.
// Latency under load comes from open-loop.ts instead.
import { AUTH_HEADER } from './payloads.js'
import { trackChild } from './children.js'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface WrkResult {
  requests: number
  seconds: number
  rps: number
  /** Non-2xx responses plus socket errors; a row with errors is not a valid measurement. */
  errors: number
  raw: string
}

/** A lua script that POSTs `body` as JSON. Long brackets [==[ ]==] need no escaping of quotes. */
export function writePostScript(dir: string, name: string, body: string): string {
  if (body.includes(']==]')) throw new Error('body cannot be embedded in a lua long string')
  const file = join(dir, `${name}.lua`)
  writeFileSync(file, `wrk.method = "POST"
wrk.body = [==[${body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "${AUTH_HEADER[1]}"
`)
  return file
}

export interface WrkOptions {
  seconds: number
  connections?: number
  threads?: number
  /** Stop early, with SIGINT (wrk then prints its stats as usual), once this returns true; polled every 100 ms. */
  stopWhen?: () => boolean
}

export async function wrk(url: string, script: string, opts: WrkOptions): Promise<WrkResult> {
  const args = ['-t', String(opts.threads ?? 2), '-c', String(opts.connections ?? 64), '-d', `${opts.seconds}s`, '--timeout', '5s', '-s', script, url]
  const raw = await new Promise<string>((resolve, reject) => {
    const p = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    trackChild('wrk', p)
    let out = ''
    p.stdout.on('data', (b: Buffer) => { out += b })
    p.stderr.on('data', (b: Buffer) => { out += b })
    const poll = opts.stopWhen && setInterval(() => { if (opts.stopWhen!()) { clearInterval(poll); p.kill('SIGINT') } }, 100)
    p.once('error', reject)
    p.once('exit', (code) => {
      if (poll) clearInterval(poll)
      if (code === 0) resolve(out); else reject(new Error(`wrk exited ${code}:\n${out}`))
    })
  })
  return parseWrk(raw)
}

const UNIT_S: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 }

export function parseWrk(raw: string): WrkResult {
  const m = /(\d+) requests in ([\d.]+)(us|ms|s|m|h)\b/.exec(raw)
  if (!m) throw new Error(`cannot parse wrk output:\n${raw}`)
  const requests = Number(m[1])
  const seconds = Number(m[2]) * UNIT_S[m[3]]
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(raw)?.[1] ?? 0)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw)
  const sockErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0
  return { requests, seconds, rps: requests / seconds, errors: non2xx + sockErrors, raw }
}

/**
 * Load the target in 1 s windows until the last three agree within 20% (or `maxSeconds` passes). Node proxies
 * need this: on this box V8 took 5–10 s of load (JIT tiers, young-generation sizing) before its per-request CPU
 * settled, and a fixed 2 s warm-up left the first measurement at a third of the steady rate. 1 s windows of a
 * warm proxy still vary by ~10–20% here, so a tighter bound just runs to the limit.
 */
export async function warmUp(url: string, script: string, maxSeconds: number): Promise<number[]> {
  const seen: number[] = []
  const deadline = Date.now() + maxSeconds * 1000
  while (Date.now() < deadline) {
    seen.push((await wrk(url, script, { seconds: 1 })).rps)
    const last = seen.slice(-3)
    if (last.length === 3 && Math.max(...last) <= 1.2 * Math.min(...last)) break
  }
  return seen
}
