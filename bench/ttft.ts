// Time to first token through a row, against the real-time streaming mock (first event after ~50 ms).
// Each request's clock starts right before dispatch and stops at the first body chunk that contains `data:`;
// the rest of the stream is read to the end so connections are reused as in production.
// A few sequential clients run side by side only to fit a few hundred 250 ms streams into seconds; at this
// concurrency nothing queues, so each sample is still an unloaded, one-at-a-time measurement.
import { performance } from 'node:perf_hooks'
import { Pool, type Dispatcher } from 'undici'
import { percentile } from './open-loop.js'

export interface TtftResult { n: number, errors: number, p50: number, p99: number, mean: number }

function once(pool: Pool, path: string, body: string, headers: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let start = 0
    let first = -1
    let status = 0
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(_c, statusCode) { status = statusCode },
      onResponseData(_c, chunk) {
        if (first < 0 && chunk.includes('data:')) first = performance.now() - start
      },
      onResponseEnd() {
        if (status !== 200 || first < 0) reject(new Error(`status ${status}, first data at ${first}`))
        else resolve(first)
      },
      onResponseError(_c, err) { reject(err) },
    }
    start = performance.now()
    pool.dispatch({ method: 'POST', path, headers, body }, handler)
  })
}

export async function ttft(origin: string, path: string, body: string, opts: { requests: number, concurrency: number, warmup: number }): Promise<TtftResult> {
  const pool = new Pool(origin, { connections: opts.concurrency })
  const headers = ['content-type', 'application/json']
  const samples: number[] = []
  let errors = 0
  async function client(count: number, keep: boolean): Promise<void> {
    for (let i = 0; i < count; i++) {
      try {
        const ms = await once(pool, path, body, headers)
        if (keep) samples.push(ms)
      } catch {
        errors++
      }
    }
  }
  const clients = (total: number, keep: boolean) => Promise.all(Array.from({ length: opts.concurrency }, (_, i) =>
    client(Math.floor(total / opts.concurrency) + (i < total % opts.concurrency ? 1 : 0), keep)))
  await clients(opts.warmup, false)
  errors = 0
  await clients(opts.requests, true)
  await pool.close()
  samples.sort((a, b) => a - b)
  return {
    n: samples.length,
    errors,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    mean: samples.reduce((a, b) => a + b, 0) / (samples.length || 1),
  }
}
