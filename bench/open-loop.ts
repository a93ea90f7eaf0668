// Open-loop latency at a fixed request rate (what wrk2 does; wrk2 is not installed).
// Request i is *scheduled* at t0 + i/rate and its latency runs from that scheduled time, not from when it was
// actually sent. So a stall in the server, or in this generator, shows up as latency for every request that
// should have gone out meanwhile, instead of silently lowering the rate (coordinated omission).
// Timers fire with ~1 ms granularity, so sends are batched per tick; that lateness is part of every row's
// numbers alike and is reported separately as `sendLagP99Ms`.
import { AUTH_HEADER } from './payloads.js'
import { performance } from 'node:perf_hooks'
import { Pool, type Dispatcher } from 'undici'

export interface OpenLoopResult {
  rate: number
  sent: number
  ok: number
  errors: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  /** p99 of (actual send − scheduled send): how late the generator itself was. */
  sendLagP99Ms: number
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

export async function openLoop(origin: string, path: string, body: string, rate: number, seconds: number): Promise<OpenLoopResult> {
  const pool = new Pool(origin, { connections: 256 })
  const headers = ['content-type', 'application/json', ...AUTH_HEADER]
  const total = Math.round(rate * seconds)
  const interval = 1000 / rate
  const latency = new Float64Array(total)
  const lag = new Float64Array(total)
  let ok = 0
  let errors = 0
  let done = 0
  let finish!: () => void
  const finished = new Promise<void>((r) => { finish = r })
  // Sends go out from the timer and also after response callbacks: under load the loop wakes for I/O far more
  // often than the ~1 ms timer, so due requests leave closer to their scheduled time.
  const t0 = performance.now() + 20
  let next = 0
  let pumpQueued = false
  function pump(): void {
    pumpQueued = false
    const now = performance.now()
    while (next < total && t0 + next * interval <= now) { send(next, t0 + next * interval); next++ }
  }

  // Latencies are stored in completion order, so `latency.subarray(0, done)` is exactly the measured set.
  const record = (ms: number, good: boolean) => {
    latency[done] = ms
    if (good) ok++; else errors++
    if (++done === total) finish()
    // Not from inside undici's callback: dispatching re-entrantly from the parser is asking for trouble.
    if (!pumpQueued) { pumpQueued = true; queueMicrotask(pump) }
  }

  function send(i: number, scheduled: number): void {
    lag[i] = performance.now() - scheduled
    let status = 0
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(_c, statusCode) { status = statusCode },
      onResponseData() {},
      onResponseEnd() { record(performance.now() - scheduled, status === 200) },
      onResponseError() { record(performance.now() - scheduled, false) },
    }
    pool.dispatch({ method: 'POST', path, headers, body }, handler)
  }

  const tick = () => {
    pump()
    if (next < total) setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()))
  }
  setTimeout(tick, 20)
  const deadline = setTimeout(finish, seconds * 1000 + 10_000) // do not hang on a wedged server
  await finished
  clearTimeout(deadline)
  const measured = latency.slice(0, done).sort()
  const [okCount, errCount, lost] = [ok, errors, total - done]
  await pool.destroy()

  return {
    rate,
    sent: next,
    ok: okCount,
    errors: errCount + lost,
    p50: percentile(measured, 50),
    p90: percentile(measured, 90),
    p99: percentile(measured, 99),
    p999: percentile(measured, 99.9),
    max: measured[measured.length - 1] ?? NaN,
    sendLagP99Ms: percentile(lag.slice(0, next).sort(), 99),
  }
}
