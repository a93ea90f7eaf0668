/**
 * Cross-worker state (DESIGN invariant 7): counters that every worker thread of one process must
 * see — today endpoint in-flight/request/failure counts for `least_request`; later rate-limit
 * buckets and breaker state. They live in one SharedArrayBuffer created by the main thread and
 * handed to each worker at spawn; the main thread alone assigns slots (by stable key such as
 * `<cluster>|<url>`) and ships the key → slot table with every snapshot, so all workers agree.
 * Cross-host state belongs in Redis, not here.
 */
export const CELLS_PER_ENDPOINT = 8 // inflight, requests, failures, health, load sum, load reports, latency EWMA, spare
/** Cluster slots use the same cell width: inflight, active retries, overflows, retry-budget balance. */
const CELLS_PER_SLOT = CELLS_PER_ENDPOINT

/** A retry costs 100 budget units; a request deposits `percent` units. */
export const RETRY_COST = 100

/** Cluster-wide counters behind the circuit-breaker limits. */
export class ClusterStats {
  constructor(private readonly cells: Int32Array, private readonly at: number) {}

  static local(): ClusterStats {
    return new ClusterStats(new Int32Array(CELLS_PER_SLOT), 0)
  }

  get inflight(): number {
    return Atomics.load(this.cells, this.at)
  }
  get retries(): number {
    return Atomics.load(this.cells, this.at + 1)
  }
  get overflows(): number {
    return Atomics.load(this.cells, this.at + 2)
  }
  start(): void {
    Atomics.add(this.cells, this.at, 1)
  }
  finish(): void {
    Atomics.sub(this.cells, this.at, 1)
  }
  overflow(): void {
    Atomics.add(this.cells, this.at + 2, 1)
  }
  /** Takes a retry slot if `limit` allows; the caller must releaseRetry() when that attempt ends. */
  tryRetry(limit: number): boolean {
    if (Atomics.add(this.cells, this.at + 1, 1) < limit) return true
    Atomics.sub(this.cells, this.at + 1, 1)
    return false
  }
  releaseRetry(): void {
    Atomics.sub(this.cells, this.at + 1, 1)
  }
  /** Retry budget (Finagle-style): each request deposits `units`, each retry costs RETRY_COST. */
  deposit(units: number, cap: number): void {
    if (Atomics.add(this.cells, this.at + 3, units) + units > cap) Atomics.store(this.cells, this.at + 3, cap)
  }
  tryWithdraw(): boolean {
    if (Atomics.sub(this.cells, this.at + 3, RETRY_COST) >= RETRY_COST) return true
    Atomics.add(this.cells, this.at + 3, RETRY_COST)
    return false
  }
}

export class EndpointStats {
  constructor(private readonly cells: Int32Array, private readonly at: number, private readonly cluster?: ClusterStats) {}

  /** A local-only counter set, for dry builds and when the shared table is full. */
  static local(cluster?: ClusterStats): EndpointStats {
    return new EndpointStats(new Int32Array(CELLS_PER_ENDPOINT), 0, cluster)
  }

  get inflight(): number {
    return Atomics.load(this.cells, this.at)
  }
  get requests(): number {
    return Atomics.load(this.cells, this.at + 1)
  }
  get failures(): number {
    return Atomics.load(this.cells, this.at + 2)
  }
  start(): void {
    Atomics.add(this.cells, this.at, 1)
    Atomics.add(this.cells, this.at + 1, 1)
    this.cluster?.start()
  }
  finish(): void {
    Atomics.sub(this.cells, this.at, 1)
    this.cluster?.finish()
  }
  /** Active health-check result, written by the main thread: 0 unknown, 1 healthy, 2 unhealthy. */
  get health(): number {
    return Atomics.load(this.cells, this.at + 3)
  }
  set health(v: number) {
    Atomics.store(this.cells, this.at + 3, v)
  }
  fail(): void {
    Atomics.add(this.cells, this.at + 2, 1)
  }
  /**
   * A load report (queue depth from a response header or a metrics scrape), from any thread.
   * Sum (in thousandths) and count only grow; readers take differences, which stay right across
   * Int32 wrap-around as long as one interval adds less than 2^31.
   */
  reportLoad(load: number): void {
    if (!(load >= 0) || load === Infinity) return
    Atomics.add(this.cells, this.at + 4, Math.round(Math.min(load, 1e6) * 1000))
    Atomics.add(this.cells, this.at + 5, 1)
  }
  get loadSumMilli(): number {
    return Atomics.load(this.cells, this.at + 4)
  }
  get loadReports(): number {
    return Atomics.load(this.cells, this.at + 5)
  }
  /**
   * Time to response headers, averaged (EWMA, 1/8 per sample) in microseconds, for /clusters.
   * Workers race on the read-modify-write; a lost sample does not matter to a display average.
   */
  observeLatency(ms: number): void {
    const us = Math.min(2_000_000_000, Math.round(ms * 1000))
    const prev = Atomics.load(this.cells, this.at + 6)
    Atomics.store(this.cells, this.at + 6, prev === 0 ? Math.max(1, us) : prev + ((us - prev) >> 3))
  }
  /** Undefined before the first response. */
  get latencyEwmaMs(): number | undefined {
    const us = Atomics.load(this.cells, this.at + 6)
    return us === 0 ? undefined : us / 1000
  }
}

/** A rollout's share at full: 10,000 basis points (100 %). */
export const ROLLOUT_FULL = 10_000

/**
 * A progressive canary's candidate share of its baseline + candidate pair, in basis points, in
 * the slot `rollout:<table>/<rule>`: the main thread (control/rollouts.ts) writes it, every
 * worker's weighted pick reads it per request, so a step reaches all workers at once.
 */
export class RolloutShare {
  constructor(private readonly cells: Int32Array, private readonly at: number) {}

  static local(): RolloutShare {
    return new RolloutShare(new Int32Array(1), 0)
  }

  get basisPoints(): number {
    return Atomics.load(this.cells, this.at)
  }
  set basisPoints(v: number) {
    Atomics.store(this.cells, this.at, Math.max(0, Math.min(ROLLOUT_FULL, Math.round(v))))
  }
}

export function rolloutShareAt(cells: Int32Array, slot: number | undefined): RolloutShare | undefined {
  return slot === undefined ? undefined : new RolloutShare(cells, slot * CELLS_PER_ENDPOINT)
}

/** Main-thread view of the counters in `slot` of the table; undefined for a key without one. */
export function endpointStatsAt(cells: Int32Array, slot: number | undefined): EndpointStats | undefined {
  return slot === undefined ? undefined : new EndpointStats(cells, slot * CELLS_PER_ENDPOINT)
}

export function clusterStatsAt(cells: Int32Array, slot: number | undefined): ClusterStats | undefined {
  return slot === undefined ? undefined : new ClusterStats(cells, slot * CELLS_PER_ENDPOINT)
}

/** Main-thread side: owns the buffer and the key → slot table. Slots are never reused. */
export class SharedStateTable {
  readonly buffer: SharedArrayBuffer
  private readonly slots = new Map<string, number>()
  private full = false

  constructor(readonly capacity = 8192) {
    this.buffer = new SharedArrayBuffer(capacity * CELLS_PER_ENDPOINT * 4)
  }

  /** Assigns slots for any new keys; returns the table for exactly these keys. */
  assign(keys: Iterable<string>): Record<string, number> {
    const out: Record<string, number> = {}
    for (const k of keys) {
      let s = this.slots.get(k)
      if (s === undefined && this.slots.size < this.capacity) this.slots.set(k, (s = this.slots.size))
      if (s === undefined) this.full = true
      else out[k] = s
    }
    return out
  }

  get exhausted(): boolean {
    return this.full
  }
}
