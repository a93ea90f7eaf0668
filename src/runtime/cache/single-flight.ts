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
  readonly waiters: Waiter[] = []
  timer: NodeJS.Timeout | undefined
  constructor(readonly key: string) {}
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
    if (f === undefined) {
      const lead = new Flight(key)
      lead.timer = setTimeout(releaseFlight, waitMs, this, lead)
      this.flights.set(key, lead)
      return lead
    }
    if (f.waiters.length >= maxWaiters) return Promise.resolve(undefined)
    return new Promise((resolve) => f.waiters.push(resolve))
  }

  /** The leader's request is over: its entry (undefined when nothing was stored) goes to every waiter. */
  settle(f: Flight, entry: Buffer | undefined): void {
    // A flight released by its timer may have been replaced by a newer leader's: leave that one alone.
    if (this.flights.get(f.key) === f) this.flights.delete(f.key)
    clearTimeout(f.timer)
    const waiters = f.waiters.splice(0)
    for (const w of waiters) w(entry)
  }
}

function releaseFlight(sf: SingleFlight, f: Flight): void {
  sf.settle(f, undefined)
}
