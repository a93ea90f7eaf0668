// Time to first token through a row, against the real-time streaming mock (first event after ~50 ms).
// Each request's clock starts right before dispatch and stops at the first body chunk that carries a token
// (non-empty `content`), not at the opening role-only chunk: Switchyard holds a stream's opening until real
// output follows (so an upstream that dies right after it can still fail over), and a client waits for the token
// anyway. The rest of the stream is read to the end so connections are reused as in production.
// A few sequential clients run side by side only to fit a few hundred 250 ms streams into seconds; at this
// concurrency nothing queues, so each sample is still an unloaded measurement.
import { AUTH_HEADER } from './payloads.js'
import { performance } from 'node:perf_hooks'
import { Pool, type Dispatcher } from 'undici'
import { percentile } from './open-loop.js'

/** A chat.completion.chunk delta with a non-empty `content`. */
const FIRST_TOKEN = /"content":"[^"]/

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
        if (first < 0 && FIRST_TOKEN.test(chunk.toString('latin1'))) first = performance.now() - start
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

/**
 * A per-row sampler. The harness calls `run()` on every row in turn, a few streams at a time, so drift on the
 * box (another process waking up, the mock's timers) spreads over all rows instead of landing on one.
 */
export function ttftSampler(origin: string, path: string, body: string, concurrency: number) {
  const pool = new Pool(origin, { connections: concurrency })
  const headers = ['content-type', 'application/json', ...AUTH_HEADER]
  const samples: number[] = []
  let errors = 0
  return {
    /** `count` streams, `concurrency` at a time; `keep: false` for warm-up. */
    async run(count: number, keep = true): Promise<void> {
      await Promise.all(Array.from({ length: Math.min(count, concurrency) }, async (_, c) => {
        for (let i = c; i < count; i += concurrency) {
          try {
            const ms = await once(pool, path, body, headers)
            if (keep) samples.push(ms)
          } catch {
            if (keep) errors++
          }
        }
      }))
    },
    result(): TtftResult {
      const sorted = [...samples].sort((a, b) => a - b)
      return {
        n: sorted.length,
        errors,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
      }
    },
    close: () => pool.close(),
  }
}
