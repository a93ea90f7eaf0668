/**
 * A worker thread that hammers one local limit in a shared limit table, as a gateway worker
 * would, and reports what it was given. The limit comes as plain data (a KeyFn cannot be posted);
 * every worker compiles the same one. `holding` (optional) counts requests in flight across all
 * workers, so the test can see the highest concurrency that was ever admitted.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { LimitTable, LocalLimiter } from '../../src/runtime/limits/local-limiter.js'
import { compileDescriptor } from '../../src/runtime/limits/descriptor.js'
import type { LimitRule, RequestFacts } from '../../src/runtime/limits/types.js'

export interface LimitWorkerData {
  readonly table: SharedArrayBuffer
  readonly rules: readonly LimitRule[]
  readonly durationMs: number
  readonly ask: { inputTokens: number; outputTokens: number }
  /** Fraction of the reservation the "provider" reports as used (0..1), drawn per request below it. */
  readonly useUpTo: number
  /** Int32Array(2) over a SAB: [in flight now, highest seen]. */
  readonly holding?: SharedArrayBuffer
  /** Start line: all workers spin until it turns 1, so they really run at once. */
  readonly go: SharedArrayBuffer
}

export interface LimitWorkerResult {
  readonly admitted: number
  readonly refused: number
  readonly usedTokens: number
  readonly elapsedMs: number
}

const d = workerData as LimitWorkerData
const limiter = new LocalLimiter([{ name: 'shared', keyOf: compileDescriptor('shared', ['tenant'], 't:'), rules: d.rules }], new LimitTable(d.table), { whenFull: 'closed' })
const facts: RequestFacts = { tenant: 'acme', keyId: undefined, model: undefined, route: undefined, headers: {} }
const holding = d.holding ? new Int32Array(d.holding) : undefined
const go = new Int32Array(d.go)
Atomics.wait(go, 0, 0)

let admitted = 0
let refused = 0
let usedTokens = 0
const started = performance.now()
while (performance.now() - started < d.durationMs) {
  const r = limiter.check(facts, d.ask)
  if (!r.ok) {
    refused++
    continue
  }
  admitted++
  if (holding) {
    const now = Atomics.add(holding, 0, 1) + 1
    for (let seen = Atomics.load(holding, 1); now > seen; seen = Atomics.load(holding, 1)) Atomics.compareExchange(holding, 1, seen, now)
    const until = performance.now() + 0.05
    while (performance.now() < until) {}
    Atomics.sub(holding, 0, 1)
  }
  const fraction = Math.random() * d.useUpTo
  const used = { inputTokens: d.ask.inputTokens, outputTokens: Math.floor(d.ask.outputTokens * fraction) }
  usedTokens += used.inputTokens + used.outputTokens
  r.lease.finish(used)
}
parentPort!.postMessage({ admitted, refused, usedTokens, elapsedMs: performance.now() - started } satisfies LimitWorkerResult)
