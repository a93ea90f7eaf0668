/**
 * Active HTTP health checks. Each endpoint in use gets its own timer: a check every `intervalMs`
 * plus a random `jitterMs` (so checks from many workers and hosts do not line up), measured from
 * the end of the previous check so a slow endpoint never has two checks in flight. A check passes
 * when the answer's status is expected, within `timeoutMs`.
 *
 * Status starts `unknown`; the first result decides it (a new endpoint should not wait thresholds
 * × interval to be usable), then `unhealthyThreshold` failures in a row mark it unhealthy and
 * `healthyThreshold` successes in a row mark it healthy again.
 */
import type { Dispatcher } from 'undici'
import { request as undiciRequest } from '../undici.js'
import type { HealthCheckConfig } from '../../compiler/ir.js'

export type { HealthCheckConfig }

export interface HealthTarget {
  /** Stable identity, `<cluster>|<url>`. */
  readonly key: string
  /** `http://host:port`. */
  readonly origin: string
  /** Per-endpoint headers (e.g. credentials), merged over the config's. */
  readonly headers?: Readonly<Record<string, string>>
  /** This endpoint's check path (the provider's default for it) when the config names none. */
  readonly path?: string
  /** The endpoint's pool; undici's global dispatcher when absent. */
  readonly dispatcher?: Dispatcher
}

export type HealthStatus = 'healthy' | 'unhealthy' | 'unknown'

export interface EndpointHealth {
  readonly status: HealthStatus
  readonly lastError: string | undefined
  readonly lastCheckedAt: number | undefined
}

export interface HealthChecker {
  start(targets: readonly HealthTarget[]): void
  /** Checks exactly these targets from now on: new ones start, removed ones stop and are forgotten. */
  update(targets: readonly HealthTarget[]): void
  stop(): void
  status(key: string): HealthStatus
  snapshot(): Record<string, EndpointHealth>
}

/** A check that is not an HTTP request (kserve_grpc's ServerLive / ModelReady): resolves with the failure, or undefined when healthy. */
export interface HealthProbe {
  check(target: HealthTarget, timeoutMs: number, signal: AbortSignal): Promise<string | undefined>
  /** Checking stopped: release what the probe holds (channels). */
  close(): void
}

export interface HealthCheckerOptions {
  onChange?: (key: string, from: HealthStatus, to: HealthStatus, lastError: string | undefined) => void
  /** Replaces the HTTP request (and its status check). */
  probe?: HealthProbe
  request?: typeof undiciRequest
  random?: () => number
  now?: () => number
}

/** `[204, '200-299']` → predicate; ranges are inclusive. */
export function compileStatusMatcher(list: readonly (number | string)[]): (status: number) => boolean {
  const exact = new Set<number>()
  const ranges: [number, number][] = []
  for (const item of list) {
    const m = /^([0-9]{3})(?:-([0-9]{3}))?$/.exec(String(item))
    if (!m) throw new Error(`invalid expected status ${JSON.stringify(item)} (want a code like 200 or a range like 200-299)`)
    if (m[2] === undefined) exact.add(Number(m[1]))
    else ranges.push([Number(m[1]), Number(m[2])])
  }
  return (s) => exact.has(s) || ranges.some(([lo, hi]) => s >= lo && s <= hi)
}

interface Checked {
  target: HealthTarget
  health: EndpointHealth
  successes: number
  failures: number
  timer: NodeJS.Timeout | undefined
  abort: AbortController | undefined
  stopped: boolean
}

export function createHealthChecker(config: HealthCheckConfig, opts: HealthCheckerOptions = {}): HealthChecker {
  const expected = compileStatusMatcher(config.expectedStatuses)
  const request = opts.request ?? undiciRequest
  const random = opts.random ?? Math.random
  const now = opts.now ?? Date.now
  const checked = new Map<string, Checked>()

  const schedule = (c: Checked, delay: number) => {
    if (c.stopped) return
    c.timer = setTimeout(() => void check(c), delay)
    c.timer.unref()
  }

  const settle = (c: Checked, ok: boolean, error: string | undefined) => {
    if (c.stopped) return
    const from = c.health.status
    if (ok) { c.successes++; c.failures = 0 } else { c.failures++; c.successes = 0 }
    let to = from
    if (from === 'unknown') to = ok ? 'healthy' : 'unhealthy'
    else if (from === 'healthy' && c.failures >= config.unhealthyThreshold) to = 'unhealthy'
    else if (from === 'unhealthy' && c.successes >= config.healthyThreshold) to = 'healthy'
    c.health = { status: to, lastError: ok ? undefined : error, lastCheckedAt: now() }
    if (to !== from) opts.onChange?.(c.target.key, from, to, c.health.lastError)
  }

  /** The HTTP check: the failure, or undefined when the status is expected. */
  const httpCheck = async (target: HealthTarget, signal: AbortSignal): Promise<string | undefined> => {
    const res = await request(target.origin + (config.path ?? target.path ?? '/'), {
      method: config.method as Dispatcher.HttpMethod,
      headers: { ...config.headers, ...target.headers },
      signal,
      dispatcher: target.dispatcher,
    })
    await res.body.dump()
    return expected(res.statusCode) ? undefined : `unexpected status ${res.statusCode}`
  }

  const check = async (c: Checked) => {
    const abort = (c.abort = new AbortController())
    const timer = setTimeout(() => abort.abort(new Error(`timed out after ${config.timeoutMs}ms`)), config.timeoutMs)
    let ok = false
    let error: string | undefined
    try {
      error = opts.probe ? await opts.probe.check(c.target, config.timeoutMs, abort.signal) : await httpCheck(c.target, abort.signal)
      if (error !== undefined && abort.signal.aborted && abort.signal.reason instanceof Error) error = abort.signal.reason.message
      ok = error === undefined
    } catch (e) {
      error = abort.signal.aborted && abort.signal.reason instanceof Error ? abort.signal.reason.message : (e as Error).message
    } finally {
      clearTimeout(timer)
      c.abort = undefined
    }
    settle(c, ok, error)
    schedule(c, config.intervalMs + random() * config.jitterMs)
  }

  const stopOne = (c: Checked) => {
    c.stopped = true
    clearTimeout(c.timer)
    c.abort?.abort(new Error('health checking stopped'))
  }

  const update = (targets: readonly HealthTarget[]) => {
    const wanted = new Map(targets.map((t) => [t.key, t]))
    for (const [key, c] of checked) {
      const t = wanted.get(key)
      if (t && t.origin === c.target.origin) c.target = t
      else {
        stopOne(c)
        checked.delete(key)
      }
    }
    for (const t of targets) {
      if (checked.has(t.key)) continue
      const c: Checked = { target: t, health: { status: 'unknown', lastError: undefined, lastCheckedAt: undefined }, successes: 0, failures: 0, timer: undefined, abort: undefined, stopped: false }
      checked.set(t.key, c)
      // The first check goes out within the jitter only, so new endpoints are known quickly.
      schedule(c, random() * config.jitterMs)
    }
  }

  return {
    start: update,
    update,
    stop() {
      for (const c of checked.values()) stopOne(c)
      checked.clear()
      opts.probe?.close()
    },
    status: (key) => checked.get(key)?.health.status ?? 'unknown',
    snapshot() {
      const out: Record<string, EndpointHealth> = {}
      for (const [key, c] of checked) out[key] = c.health
      return out
    },
  }
}
