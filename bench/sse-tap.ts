// The SSE lane's event checks alone, in one process: SseUsageTap over the bench's 20-event body (in one read, as
// nginx sends it, and one event per read, as the TTFT mock does), ns per stream. No sockets, so other tenants'
// load moves it far less than a wrk run; BENCH_BASELINE=<checkout> (built) times that checkout's tap too, the
// two interleaved.
//   npm run build && node dist/bench/sse-tap.js                  # ~20 s
//   BENCH_BASELINE=/tmp/sse-base node dist/bench/sse-tap.js
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { MODEL, SSE_BODY, SSE_CHUNKS, SSE_DONE, sseEvent } from './payloads.js'

interface Tap { push(b: Buffer): Buffer | undefined; openingOnly(b: Buffer): boolean; flush(): Buffer | undefined; complete: boolean }
type TapClass = new (protocol: 'openai', strip: boolean) => Tap

const ROUNDS = Number(process.env.TAP_ROUNDS ?? 7)
const STREAMS = 20_000

/** One stream as upstream-call drives it: push each read, ask about the opening until something is written. */
function stream(Tap: TapClass, reads: readonly Buffer[]): void {
  const tap = new Tap('openai', false)
  let wrote = false
  for (const r of reads) {
    const out = tap.push(r)
    if (out !== undefined && !wrote && !tap.openingOnly(out)) wrote = true
  }
  tap.flush()
  if (!tap.complete) throw new Error('the bench stream should be complete')
}

/** CPU time (user + system), not wall time: on the shared box a descheduled round would count other tenants' work. */
function nsPerStream(Tap: TapClass, reads: readonly Buffer[]): number {
  const t0 = process.cpuUsage()
  for (let i = 0; i < STREAMS; i++) stream(Tap, reads)
  const t = process.cpuUsage(t0)
  return ((t.user + t.system) * 1e3) / STREAMS
}

async function load(root: string): Promise<TapClass> {
  const mod = await import(pathToFileURL(join(root, 'dist/src/runtime/providers/usage-tap.js')).href) as { SseUsageTap: TapClass }
  return mod.SseUsageTap
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main(): Promise<void> {
  const here = join(new URL('.', import.meta.url).pathname, '../..')
  const taps: [string, TapClass][] = [['this checkout', await load(here)]]
  if (process.env.BENCH_BASELINE) taps.push([`baseline ${process.env.BENCH_BASELINE}`, await load(process.env.BENCH_BASELINE)])
  const lanes: [string, Buffer[]][] = [
    ['one read (sse lane)', [Buffer.from(SSE_BODY)]],
    ['a read per event (ttft lane)', [...Array.from({ length: SSE_CHUNKS }, (_, i) => Buffer.from(sseEvent(i, MODEL.ttft))), Buffer.from(SSE_DONE)]],
  ]
  for (const [, Tap] of taps) for (const [, reads] of lanes) nsPerStream(Tap, reads) // JIT warm-up
  const times = new Map<string, number[]>()
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, Tap] of taps) {
      for (const [lane, reads] of lanes) times.set(`${name}|${lane}`, [...(times.get(`${name}|${lane}`) ?? []), nsPerStream(Tap, reads)])
    }
  }
  console.log('| tap | lane | µs per stream (median of rounds) | min |\n|---|---|---|---|')
  for (const [key, ts] of times) {
    const [name, lane] = key.split('|')
    console.log(`| ${name} | ${lane} | ${(median(ts) / 1000).toFixed(2)} | ${(Math.min(...ts) / 1000).toFixed(2)} |`)
  }
}

await main()
