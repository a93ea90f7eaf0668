/**
 * Metrics scrapes for `lb: dynamic_weighted` with `dynamic_weights.metrics`: run once per process
 * on the main thread (not once per worker, so an endpoint sees one scraper), for the endpoints the
 * current config uses. Each reading is published through the endpoint's shared counters
 * (EndpointStats.reportLoad), where every worker's balancer folds it into its weights.
 */
import type { SnapshotIR } from '../compiler/ir.js'
import { createMetricsPoller } from '../runtime/lb/dynamic-weights.js'
import { endpointStatsAt } from '../shared/shared-state.js'
import { log } from '../shared/log.js'

interface Scrape {
  readonly config: string
  readonly poller: { stop(): void }
  readonly last: Map<string, { load?: number; at?: string; error?: string }>
}

export class LoadScrapes {
  private readonly scrapes = new Map<string, Scrape>()
  private readonly cells: Int32Array

  constructor(buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer)
  }

  /** Starts, restarts or stops scrapers to match `ir`. */
  apply(ir: SnapshotIR, slots: Record<string, number>): void {
    const wanted = new Set<string>()
    for (const c of ir.clusters) {
      const metrics = c.dynamicWeights?.metrics
      if (c.lb !== 'dynamic_weighted' || metrics === undefined || c.provider === 'mock') continue
      wanted.add(c.name)
      const targets = c.endpoints.map((e) => ({ key: `${c.name}|${e.url}`, url: new URL(metrics.path, e.origin).href }))
      // Endpoints or settings changed: a fresh scraper (the smoothed loads live in the workers).
      const config = JSON.stringify([metrics, c.dynamicWeights!.intervalMs, targets])
      const running = this.scrapes.get(c.name)
      if (running?.config === config) continue
      running?.poller.stop()
      const last = new Map<string, { load?: number; at?: string; error?: string }>()
      const poller = createMetricsPoller(targets, {
        metric: metrics.metric,
        intervalMs: c.dynamicWeights!.intervalMs,
        timeoutMs: metrics.timeoutMs,
        onLoad: (key, load) => {
          endpointStatsAt(this.cells, slots[key])?.reportLoad(load)
          if (last.get(key)?.error !== undefined) log('info', 'load scrape recovered', { endpoint: key })
          last.set(key, { load, at: new Date().toISOString() })
        },
        onError: (key, error) => {
          // Log a change of state, not every failing scrape.
          if (last.get(key)?.error === undefined) log('warn', 'load scrape failed', { endpoint: key, error })
          last.set(key, { ...last.get(key), error })
        },
      })
      this.scrapes.set(c.name, { config, poller, last })
    }
    for (const [name, s] of this.scrapes) {
      if (wanted.has(name)) continue
      s.poller.stop()
      this.scrapes.delete(name)
    }
  }

  /** Last reading (or error) per cluster and endpoint key, for /clusters. */
  snapshot(): Record<string, Record<string, { load?: number; at?: string; error?: string }>> {
    const out: Record<string, Record<string, { load?: number; at?: string; error?: string }>> = {}
    for (const [name, s] of this.scrapes) out[name] = Object.fromEntries(s.last)
    return out
  }

  stop(): void {
    for (const s of this.scrapes.values()) s.poller.stop()
    this.scrapes.clear()
  }
}
