/**
 * The options every worker thread is started with: its WorkerData and the limits of its V8 isolate.
 *
 * The young generation is capped because, left to V8, each worker grows its semi-spaces to 16 MB
 * under load (≈28 MB committed per worker, the largest part of the process's peak RSS) although
 * request garbage dies young: a smaller nursery is scavenged more often, each scavenge copying
 * about the same few hundred KB of live request state. bench/SOAK.md has the measurements.
 */
import type { WorkerOptions } from 'node:worker_threads'
import type { WorkerData } from './messages.js'

/** V8 sizes a semi-space at a third of the young generation, so 6 MB means 2 MB semi-spaces. */
export const DEFAULT_YOUNG_GENERATION_MB = 6

/**
 * `SWITCHYARD_WORKER_YOUNG_MB=<n>` overrides the cap; `0` leaves the sizing to V8.
 * @example new Worker(workerUrl, workerOptions({ shared: table.buffer, workers: 2 }))
 */
export function workerOptions(data: WorkerData, env: NodeJS.ProcessEnv = process.env): WorkerOptions {
  const set = env.SWITCHYARD_WORKER_YOUNG_MB
  const young = set === undefined || set === '' || !(Number(set) >= 0) ? DEFAULT_YOUNG_GENERATION_MB : Number(set)
  return { workerData: data, ...(young > 0 && { resourceLimits: { maxYoungGenerationSizeMb: young } }) }
}
