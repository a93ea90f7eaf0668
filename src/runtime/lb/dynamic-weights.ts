/**
 * Dynamic weights: smooth weighted round robin whose weights follow the load endpoints report.
 * Load comes from a response header (`x-queue-depth`) or from each endpoint's Prometheus metrics
 * (a gauge such as vLLM's `vllm:num_requests_waiting`, scraped by createMetricsPoller on the main
 * thread). Reports land in the endpoint's shared counters (EndpointStats.reportLoad), so every
 * worker weighs the same evidence; observeLoad feeds one instance directly (unit tests).
 * Every `intervalMs` the load seen since the last round (mean of the
 * samples; the previous value when none came) is smoothed exponentially, and each endpoint gets
 * weight = configured weight / (1 + load), but never below `minWeightFraction` of its configured
 * weight — an overloaded endpoint keeps a trickle of traffic, or header-reported load could
 * never show it has recovered.
 */
import type { Dispatcher } from 'undici'
import { request as undiciRequest } from '../undici.js'
import type { CompiledEndpoint, LoadBalancer } from '../types.js'
import type { EndpointStats } from '../../shared/shared-state.js'
import type { DynamicWeightsConfig } from '../../compiler/ir.js'

export type { DynamicWeightsConfig }

/** Integer resolution handed to smooth WRR: the heaviest endpoint gets this weight. */
const SCALE = 1000

export class DynamicWeights {
  /** Current integer weights, aligned with the endpoints; read by the balancer on every pick. */
  readonly weights: number[]
  private readonly index: Map<string, number>
  private readonly sums: Float64Array
  private readonly counts: Int32Array
  private readonly load: Float64Array
  private readonly seeded: Uint8Array
  private last = -Infinity
  /** Shared report counters as last read, per endpoint with stats. */
  private readonly seenSum: Int32Array
  private readonly seenCount: Int32Array

  constructor(private readonly endpoints: readonly { key: string; weight: number; stats?: EndpointStats }[], private readonly config: DynamicWeightsConfig) {
    const n = endpoints.length
    this.seenSum = Int32Array.from(endpoints, (e) => e.stats?.loadSumMilli ?? 0)
    this.seenCount = Int32Array.from(endpoints, (e) => e.stats?.loadReports ?? 0)
    this.index = new Map(endpoints.map((e, i) => [e.key, i]))
    this.sums = new Float64Array(n)
    this.counts = new Int32Array(n)
    this.load = new Float64Array(n)
    this.seeded = new Uint8Array(n)
    this.weights = endpoints.map((e) => (e.weight > 0 ? SCALE : 0))
    this.compute()
  }

  /** A reading fed to this instance directly (the runtime publishes through the shared counters). */
  observeLoad(key: string, load: number, now: number): void {
    const i = this.index.get(key)
    if (i === undefined) return
    this.sums[i] += load
    this.counts[i]++
    this.maybeRecompute(now)
  }

  /** Folds the samples in once per interval; cheap to call on every pick. */
  maybeRecompute(now: number): boolean {
    // The first call starts the clock, so the first round collects a full interval of samples.
    if (this.last === -Infinity) this.last = now
    if (now - this.last < this.config.intervalMs) return false
    this.last = now
    this.collectShared()
    const a = this.config.smoothing
    for (let i = 0; i < this.load.length; i++) {
      if (this.counts[i] === 0) continue
      const mean = this.sums[i] / this.counts[i]
      // The first report is taken as is: smoothing from an assumed 0 would under-weight nobody.
      this.load[i] = this.seeded[i] ? a * mean + (1 - a) * this.load[i] : mean
      this.seeded[i] = 1
      this.sums[i] = 0
      this.counts[i] = 0
    }
    this.compute()
    return true
  }

  /** Adds the reports other threads (and this one) published since the last round. */
  private collectShared(): void {
    for (let i = 0; i < this.endpoints.length; i++) {
      const stats = this.endpoints[i].stats
      if (stats === undefined) continue
      const count = stats.loadReports
      const dc = (count - this.seenCount[i]) | 0
      if (dc <= 0) continue
      const sum = stats.loadSumMilli
      this.sums[i] += ((sum - this.seenSum[i]) | 0) / 1000
      this.counts[i] += dc
      this.seenSum[i] = sum
      this.seenCount[i] = count
    }
  }

  snapshot(): { key: string; load: number; weight: number }[] {
    return this.endpoints.map((e, i) => ({ key: e.key, load: this.load[i], weight: this.weights[i] }))
  }

  private compute(): void {
    const raw = this.endpoints.map((e, i) => Math.max(e.weight / (1 + this.load[i]), e.weight * this.config.minWeightFraction))
    const max = Math.max(...raw)
    for (let i = 0; i < raw.length; i++) this.weights[i] = raw[i] > 0 ? Math.max(1, Math.round((raw[i] / max) * SCALE)) : 0
  }
}

/** A load report from a response header: a non-negative number, else nothing to report. */
export function loadFromHeader(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined
  const v = Number(value)
  return Number.isFinite(v) && v >= 0 ? v : undefined
}

/** Smooth weighted round robin (as weighted-round-robin.ts) over weights that change under it. */
export function createDynamicWeighted(endpoints: readonly CompiledEndpoint[], dyn: DynamicWeights, opts: { now?: () => number } = {}): LoadBalancer {
  const now = opts.now ?? Date.now
  const current = new Array<number>(endpoints.length).fill(0)
  return {
    pick() {
      dyn.maybeRecompute(now())
      const w = dyn.weights
      let total = 0
      let best = -1
      for (let i = 0; i < endpoints.length; i++) {
        if (w[i] === 0) continue
        current[i] += w[i]
        total += w[i]
        if (best < 0 || current[i] > current[best]) best = i
      }
      if (best < 0) return endpoints[0]
      current[best] -= total
      return endpoints[best]
    },
    describe() {
      const out: Record<string, unknown> = {}
      const snap = dyn.snapshot()
      for (let i = 0; i < endpoints.length; i++) out[endpoints[i].url] = { dynamic_weight: snap[i].weight, reported_load: +snap[i].load.toFixed(3) }
      return out
    },
  }
}

/**
 * Sum of a gauge over all its label sets in Prometheus text exposition format, or undefined when
 * the metric is absent. vLLM reports one series per model (`vllm:num_requests_waiting{model_name=…}`).
 */
export function parsePrometheusGauge(text: string, name: string): number | undefined {
  let sum: number | undefined
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue
    const rest = line.slice(name.length)
    // `name 3`, `name{…} 3`, `name{…} 3 1712345678000`; a longer name sharing the prefix is not ours.
    let valueAt: number
    if (rest[0] === '{') {
      const close = rest.lastIndexOf('}')
      if (close < 0) continue
      valueAt = close + 1
    } else if (rest[0] === ' ' || rest[0] === '\t') valueAt = 0
    else continue
    const value = Number(rest.slice(valueAt).trim().split(/\s+/)[0])
    if (Number.isNaN(value)) continue
    sum = (sum ?? 0) + value
  }
  return sum
}

export interface MetricsTarget {
  readonly key: string
  /** Full metrics URL, e.g. `http://10.0.0.5:8000/metrics`. */
  readonly url: string
}

export interface MetricsPollerOptions {
  readonly metric: string
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly onLoad: (key: string, load: number, now: number) => void
  readonly onError?: (key: string, error: string) => void
  readonly request?: typeof undiciRequest
  /** undici's global dispatcher when absent. */
  readonly dispatcher?: Dispatcher
  readonly now?: () => number
}

/** Polls every target's metrics each interval (one request per target in flight at most). */
export function createMetricsPoller(targets: readonly MetricsTarget[], opts: MetricsPollerOptions): { stop(): void } {
  const request = opts.request ?? undiciRequest
  const now = opts.now ?? Date.now
  const timers = new Set<NodeJS.Timeout>()
  let stopped = false
  const poll = async (t: MetricsTarget) => {
    try {
      const res = await request(t.url, { signal: AbortSignal.timeout(opts.timeoutMs), dispatcher: opts.dispatcher })
      const text = await res.body.text()
      if (res.statusCode !== 200) opts.onError?.(t.key, `status ${res.statusCode}`)
      else {
        const v = parsePrometheusGauge(text, opts.metric)
        if (v === undefined) opts.onError?.(t.key, `metric ${opts.metric} not found`)
        else if (!stopped) opts.onLoad(t.key, v, now())
      }
    } catch (e) {
      opts.onError?.(t.key, (e as Error).message)
    }
    if (stopped) return
    const timer = setTimeout(() => { timers.delete(timer); void poll(t) }, opts.intervalMs)
    timer.unref()
    timers.add(timer)
  }
  for (const t of targets) void poll(t)
  return {
    stop() {
      stopped = true
      for (const t of timers) clearTimeout(t)
      timers.clear()
    },
  }
}
