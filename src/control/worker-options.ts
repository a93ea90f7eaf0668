/**
 * The options every worker thread is started with: its WorkerData and the limits of its V8 isolate.
 *
 * The young generation is capped because, left to V8, each worker grows its semi-spaces to 16 MB
 * under load (≈28 MB committed per worker, the largest part of the process's peak RSS) although
 * request garbage dies young: a smaller nursery is scavenged more often, each scavenge copying
 * about the same few hundred KB of live request state. bench/SOAK.md has the measurements.
 */
import { setFlagsFromString } from 'node:v8'
import { isMainThread, type WorkerOptions } from 'node:worker_threads'
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
  return { workerData: data, ...(data.sessions && { transferList: [data.sessions] }), ...(young > 0 && { resourceLimits: { maxYoungGenerationSizeMb: young } }) }
}

/**
 * Process-wide V8 settings, set when this module loads: in the main thread, before the first
 * compile and before any WebAssembly is compiled. Node calls changing V8 flags after start
 * unsupported in general; these two are read only when a wasm module is compiled and when a new
 * space grows, so setting them before either happens is the same as passing them on the command
 * line (which `switchyard run` cannot rely on). bench/SOAK.md has the measurements.
 * - `--liftoff-only`: undici's HTTP parser (llhttp, wasm) stays on V8's baseline compiler. Its
 *   TurboFan tier-up malloc'ed ≈40 MB per isolate for a few seconds of the first load (a third of
 *   the peak RSS) for a parser that takes a few % of a worker's time: no CPU difference measured on
 *   the JSON lane, ≈1.5 % of worker time on the SSE lane. `SWITCHYARD_WASM_TURBOFAN=1` keeps the tier-up.
 * - `--semi-space-growth-factor=1` until the first worker starts (workersStarting()): the
 *   startup compile's garbage does not grow the main thread's young generation to its 16 MB
 *   maximum, which V8 gave back only ≈10 s after the gateway was ready, under load or not.
 *   Workers are sized by their resourceLimits and grow as usual.
 * - `--expose-gc`, read when a context is made: the workers (made after) get the `gc` that
 *   shared/heap-trim.ts uses to keep their old generations near what is alive. The main thread's
 *   context already exists and is unchanged. `SWITCHYARD_HEAP_TRIM=0` leaves it out.
 */
export function applyProcessV8Flags(env: NodeJS.ProcessEnv = process.env): string[] {
  if (!isMainThread) return []
  const flags = env.SWITCHYARD_WASM_TURBOFAN === '1' ? [] : ['--liftoff-only']
  if (env.SWITCHYARD_HEAP_TRIM !== '0') flags.push('--expose-gc')
  if (!workersStarted) flags.push('--semi-space-growth-factor=1')
  for (const f of flags) setFlagsFromString(f)
  return flags
}

/**
 * How far an old generation may grow past what its last full GC kept before V8 collects it again:
 * 50 % where V8's own factor, for a process that may use gigabytes, is up to 4×. A worker keeps
 * ≈12 MB alive, but every request's objects that are still in flight at a scavenge are promoted
 * and die in the old generation, so with V8's factor each worker's heap grew by ≈1.6 MB per 100k
 * requests, from 18 to 35 MB over a 1M-request soak, before its first full GC (bench/RESULTS.md).
 * With 50 % it stays at ≈20 MB; the full GCs this costs are few (one per several 100k requests
 * per worker at the bench's load) and as cheap as the live heap is small.
 * `SWITCHYARD_HEAP_GROWING_PERCENT=<n>` sets it; `0` leaves it to V8. Read by V8 whenever a full
 * GC sets the next limit, in every isolate, so it is set once, here, for the process.
 */
export const DEFAULT_HEAP_GROWING_PERCENT = 50

export function applyHeapGrowth(env: NodeJS.ProcessEnv = process.env): string {
  const set = env.SWITCHYARD_HEAP_GROWING_PERCENT
  const percent = set === undefined || set === '' || !(Number(set) >= 0) ? DEFAULT_HEAP_GROWING_PERCENT : Math.round(Number(set))
  const flag = `--heap-growing-percent=${percent}`
  if (isMainThread) setFlagsFromString(flag)
  return flag
}

let workersStarted = false

/** The startup compile is over: new spaces grow again as V8 decides (the workers' are about to). */
export function workersStarting(): void {
  if (workersStarted || !isMainThread) return
  workersStarted = true
  setFlagsFromString(`--semi-space-growth-factor=${V8_SEMI_SPACE_GROWTH_FACTOR}`)
}

/** V8's default for --semi-space-growth-factor (node --v8-options). */
const V8_SEMI_SPACE_GROWTH_FACTOR = 2

applyProcessV8Flags()
applyHeapGrowth()
