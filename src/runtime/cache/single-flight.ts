/**
 * Single flight: while one request for a key is upstream (the leader), identical requests wait
 * for its answer instead of making their own call. The wait is bounded — by `waitMs` from the
 * leader's start and by `maxWaiters` — after which waiters go upstream themselves; a leader that
 * ends without a storable answer releases its waiters the same way. Per worker thread.
 */

/** What a waiter gets: the leader's encoded entry, or undefined (go upstream yourself). */
type Waiter = (entry: Buffer | undefined) => void

/** A leader's flight: settle it exactly once when its request ends (later calls do nothing). */
export class Flight {
  /** Made with the first waiter: most flights have none, and then cost no array and no timer. */
  waiters: Waiter[] | undefined
  timer: NodeJS.Timeout | undefined
  constructor(readonly key: string, readonly deadline: number) {}
}

export class SingleFlight {
  private readonly flights = new Map<string, Flight>()

  /** Keys with a leader upstream now. */
  get size(): number {
    return this.flights.size
  }

  /**
   * A Flight: the caller leads and must settle() it when its request ends. A promise: the caller
   * waits; it resolves with the leader's entry, or undefined when the wait is over without one.
   */
  join(key: string, waitMs: number, maxWaiters: number): Flight | Promise<Buffer | undefined> {
    const f = this.flights.get(key)
    const now = performance.now()
    if (f === undefined || now >= f.deadline) {
      // A flight past its wait releases its waiters (its timer may not have run yet); the caller leads anew.
      if (f !== undefined) this.settle(f, undefined)
      const lead = new Flight(key, now + waitMs)
      this.flights.set(key, lead)
      return lead
    }
    const waiters = (f.waiters ??= [])
    if (waiters.length >= maxWaiters) return Promise.resolve(undefined)
    // The timer starts with the first waiter, for what is left of the leader's wait.
    if (f.timer === undefined) f.timer = setTimeout(releaseFlight, f.deadline - now, this, f)
    return new Promise((resolve) => waiters.push(resolve))
  }

  /** The leader's request is over: its entry (undefined when nothing was stored) goes to every waiter. */
  settle(f: Flight, entry: Buffer | undefined): void {
    // A flight released by its timer may have been replaced by a newer leader's: leave that one alone.
    if (this.flights.get(f.key) === f) this.flights.delete(f.key)
    const waiters = f.waiters
    if (waiters === undefined) return
    clearTimeout(f.timer)
    f.waiters = undefined
    for (const w of waiters) w(entry)
  }
}

function releaseFlight(sf: SingleFlight, f: Flight): void {
  sf.settle(f, undefined)
}
