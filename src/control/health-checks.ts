/**
 * Active health checks, run once per process on the main thread (not once per worker), for the
 * endpoints the current config uses. Results are published through the shared endpoint counters,
 * where every worker's endpoint guard reads them.
 */
import type { SnapshotIR } from '../compiler/ir.js'
import { createHealthChecker, type EndpointHealth, type HealthChecker, type HealthStatus } from '../runtime/resilience/health-checker.js'
import { endpointStatsAt } from '../shared/shared-state.js'
import { credentialHeaders } from '../runtime/upstream/targets.js'
import { log } from '../shared/log.js'
import { createKserveProbe } from '../runtime/providers/kserve/health-probe.js'

const CODE: Record<HealthStatus, number> = { unknown: 0, healthy: 1, unhealthy: 2 }

export class HealthChecks {
  private readonly checkers = new Map<string, { config: string; checker: HealthChecker }>()
  private readonly cells: Int32Array

  constructor(buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer)
  }

  /** Starts, updates or stops checkers to match `ir`. */
  apply(ir: SnapshotIR, slots: Record<string, number>): void {
    const wanted = new Set<string>()
    for (const c of ir.clusters) {
      if (!c.healthCheck || c.provider === 'mock') continue
      wanted.add(c.name)
      const config = JSON.stringify(c.healthCheck) + (c.kserve ? JSON.stringify(c.kserve) : '')
      let entry = this.checkers.get(c.name)
      if (entry && entry.config !== config) {
        entry.checker.stop()
        entry = undefined
      }
      const targets = c.endpoints.map((e) => {
        const flat = credentialHeaders(c, e.apiKey, e.basicAuth)
        const headers: Record<string, string> = {}
        for (let i = 0; i < flat.length; i += 2) headers[flat[i]] = flat[i + 1]
        return { key: `${c.name}|${e.url}`, origin: e.origin, headers, ...(e.healthPath !== undefined && { path: e.healthPath }) }
      })
      if (!entry) {
        const checker = createHealthChecker(c.healthCheck, {
          // gRPC backends: ServerLive (and ModelReady) instead of an HTTP GET.
          ...(c.kserve !== undefined && { probe: createKserveProbe(c.kserve) }),
          onChange: (key, from, to, lastError) => {
            const s = endpointStatsAt(this.cells, slots[key])
            if (s) s.health = CODE[to]
            log(to === 'unhealthy' ? 'warn' : 'info', 'health check', { endpoint: key, from, to, ...(lastError && { error: lastError }) })
          },
        })
        checker.start(targets)
        this.checkers.set(c.name, { config, checker })
      } else entry.checker.update(targets)
    }
    for (const [name, entry] of this.checkers) {
      if (wanted.has(name)) continue
      entry.checker.stop()
      this.checkers.delete(name)
    }
  }

  snapshot(): Record<string, Record<string, EndpointHealth>> {
    const out: Record<string, Record<string, EndpointHealth>> = {}
    for (const [name, e] of this.checkers) out[name] = e.checker.snapshot()
    return out
  }

  stop(): void {
    for (const e of this.checkers.values()) e.checker.stop()
    this.checkers.clear()
  }
}
