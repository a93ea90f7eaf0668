/**
 * Keeps a long-running isolate's old generation near what is alive, by asking V8 for a full GC
 * when the old space has grown by a step since the last one.
 *
 * Why: under steady load V8 collects the old generation only once it has grown at least 8 MB
 * past what the last full GC kept (its minimum growing step, whatever --heap-growing-percent
 * says), and its memory reducer only runs when the isolate is idle, which a busy worker never is.
 * A worker keeps ≈10 MB alive, but the objects of requests still in flight at a scavenge are
 * promoted and die in the old generation: each worker's heap grew from 17 to 23 MB before its
 * first full GC, 12 MB of a 2-worker gateway's peak RSS (bench/SOAK.md). A full GC of a heap
 * that small costs a few ms of mostly concurrent marking, once per 100k requests or so.
 *
 * `gc` exists when the process enabled --expose-gc before this isolate's context was made
 * (control/worker-options.ts does, before the workers start); without it this does nothing.
 */
import { getHeapSpaceStatistics } from 'node:v8'
import { runInNewContext } from 'node:vm'

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => Promise<void> | void

/** How often the old space is looked at: a read of V8's space sizes, a few µs. */
export const HEAP_TRIM_INTERVAL_MS = 1000
/** Grown by this much (or by a fifth of what is alive, if more) since the last full GC: collect. */
export const HEAP_TRIM_STEP_BYTES = 2 * 1024 * 1024
const STEP_OF_LIVE = 0.2

export function oldSpaceUsed(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'old_space') return s.space_used_size
  return 0
}

/**
 * This isolate's `gc`: a worker made after --expose-gc has it on its global; the main thread's
 * context predates the flag, but a new context gets one, and it collects the whole isolate.
 */
export function gcFunction(): GcFunction | undefined {
  const onGlobal = (globalThis as { gc?: GcFunction }).gc
  if (typeof onGlobal === 'function') return onGlobal
  try {
    const fromContext = runInNewContext('typeof gc === "function" ? gc : undefined') as GcFunction | undefined
    return typeof fromContext === 'function' ? fromContext : undefined
  } catch {
    return undefined
  }
}

export class HeapTrim {
  private floor: number
  private running = false
  private timer: NodeJS.Timeout | undefined
  /** Full GCs asked for so far (tests, and the worker's status). */
  collections = 0

  constructor(
    private readonly gc: GcFunction,
    private readonly used: () => number = oldSpaceUsed,
  ) {
    this.floor = used()
  }

  /** Starts looking every `ms`; the timer never keeps the thread alive. */
  start(ms = HEAP_TRIM_INTERVAL_MS): this {
    this.timer ??= setInterval(() => this.check(), ms).unref()
    return this
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  /** One look: collects when the old space is a step above what the last collection kept. */
  check(): boolean {
    if (this.running) return false
    const used = this.used()
    if (used < this.floor) this.floor = used // V8 collected on its own
    if (used - this.floor < Math.max(HEAP_TRIM_STEP_BYTES, this.floor * STEP_OF_LIVE)) return false
    this.collect()
    return true
  }

  /** A full GC now (unless one is running); the old space it leaves is the next floor. */
  collect(): void {
    if (this.running) return
    this.running = true
    this.collections++
    const settle = () => {
      this.running = false
      this.floor = this.used()
    }
    try {
      // Asynchronous: V8 marks incrementally and concurrently instead of stopping the thread for the whole GC.
      const done = this.gc({ type: 'major', execution: 'async' })
      if (done && typeof done.then === 'function') done.then(settle, settle)
      else settle()
    } catch {
      settle()
    }
  }
}

/** A started HeapTrim when this isolate can ask for a GC, else undefined. */
export function startHeapTrim(): HeapTrim | undefined {
  const gc = gcFunction()
  return gc ? new HeapTrim(gc).start() : undefined
}
