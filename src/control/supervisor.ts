/**
 * Main thread: compiles config (once, for all workers), starts N worker threads, ships them each
 * new SnapshotIR, serves the admin API, and drains everything on SIGTERM/SIGINT.
 * Reloads coalesce: while one compile runs, further changes collapse into one more pass.
 */
import { Worker } from 'node:worker_threads'
import { compileConfig, formatDiagnostic } from '../compiler/index.js'
import type { Diagnostic } from '../compiler/diagnostics.js'
import type { SnapshotIR } from '../compiler/ir.js'
import { dryBuild } from '../runtime/build/dry-build.js'
import type { ConfigSource } from './sources/source.js'
import type { FromWorker, GatewayStatus, ToWorker, WorkerStatus } from './messages.js'
import { startAdmin, type AdminHandle } from './admin/server.js'
import { uwsBuild } from '../shared/uws.js'
import { clusterStatsAt, endpointStatsAt, SharedStateTable } from '../shared/shared-state.js'
import { HealthChecks } from './health-checks.js'
import { LoadScrapes } from './load-scrapes.js'
import { workerOptions } from './worker-options.js'
import { log } from '../shared/log.js'

export class StartupError extends Error {
  constructor(message: string, readonly diagnostics: readonly Diagnostic[] = []) {
    super(message)
  }
}

export interface RunOptions {
  readonly source: ConfigSource
  readonly workers: number
  /** Override the admin port from config (0 disables). */
  readonly adminPort?: number
  /** `--require-native`: refuse to serve on uWebSockets.js's JavaScript fallback (as `runtime.require_native`). */
  readonly requireNative?: boolean
}

const workerUrl = new URL('../runtime/worker.js', import.meta.url)
export const UWS_FALLBACK = `uWebSockets.js could not load its native addon for Node ${process.versions.node} on ${process.platform}-${process.arch} and runs its slow JavaScript fallback`

export async function runGateway(opts: RunOptions): Promise<{ stop: () => Promise<void>; status: GatewayStatus }> {
  const first = await compileFrom(opts.source)
  if (!first.ok) throw new StartupError('invalid configuration', first.diagnostics)
  const status: GatewayStatus = {
    ir: first.ir,
    loadedAt: new Date().toISOString(),
    lastReload: undefined,
    workers: [],
    shuttingDown: false,
    source: opts.source,
  }
  for (const w of first.ir.warnings) log('warn', w)
  log('info', 'uWebSockets.js loaded', { build: uwsBuild })
  if (uwsBuild !== 'native') {
    if (opts.requireNative || first.ir.requireNative) {
      throw new StartupError(`${UWS_FALLBACK}; refusing to start (${opts.requireNative ? '--require-native' : 'runtime.require_native'})`)
    }
    log('error', `${UWS_FALLBACK}; serving anyway (set runtime.require_native or --require-native to refuse)`)
  }

  const shared = new SharedStateTable()
  const slotsFor = (ir: SnapshotIR) => {
    const slots = shared.assign(ir.clusters.flatMap((c) => [`cluster:${c.name}`, ...c.endpoints.map((e) => `${c.name}|${e.url}`)]))
    if (shared.exhausted) log('warn', 'shared state table is full; new endpoints count in-flight requests per worker')
    return slots
  }
  let currentSlots = slotsFor(first.ir)
  const health = new HealthChecks(shared.buffer)
  health.apply(first.ir, currentSlots)
  const scrapes = new LoadScrapes(shared.buffer)
  scrapes.apply(first.ir, currentSlots)
  const workers = new Map<number, { worker: Worker; status: WorkerStatus }>()
  const clusterReplies = new Map<number, (worker: number, data: Record<string, unknown>) => void>()
  let queryId = 0
  /** /clusters: shared counters and health from here, eligibility (outliers, breakers) from each worker. */
  status.clusters = async () => {
    const id = ++queryId
    const perWorker: Record<string, Record<string, unknown>> = {}
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, 1000)
      let left = workers.size
      function done() {
        clearTimeout(t)
        clusterReplies.delete(id)
        resolve()
      }
      clusterReplies.set(id, (w, data) => {
        perWorker[`worker-${w}`] = data
        if (--left === 0) done()
      })
      for (const w of workers.values()) w.worker.postMessage({ type: 'clusters', id } satisfies ToWorker)
      if (left === 0) done()
    })
    const cells = new Int32Array(shared.buffer)
    const checks = health.snapshot()
    const loads = scrapes.snapshot()
    const out: Record<string, unknown> = {}
    for (const c of status.ir.clusters) {
      const cs = clusterStatsAt(cells, currentSlots[`cluster:${c.name}`])
      out[c.name] = {
        provider: c.provider,
        lb: c.lb,
        ...(cs && { inflight: cs.inflight, active_retries: cs.retries, overflows: cs.overflows }),
        endpoints: c.endpoints.map((e) => {
          const key = `${c.name}|${e.url}`
          const s = endpointStatsAt(cells, currentSlots[key])
          return {
            url: e.url,
            weight: e.weight,
            ...(s && { inflight: s.inflight, requests: s.requests, failures: s.failures, ...(s.latencyEwmaMs !== undefined && { latency_ewma_ms: +s.latencyEwmaMs.toFixed(2) }) }),
            ...(checks[c.name]?.[key] && { health: checks[c.name][key] }),
            ...(loads[c.name]?.[key] && { load_scrape: loads[c.name][key] }),
            workers: Object.fromEntries(Object.entries(perWorker).map(([w, d]) => [w, (d[c.name] as Record<string, unknown> | undefined)?.[e.url] ?? { eligible: true, reasons: [] }])),
          }
        }),
      }
    }
    return out
  }
  const waiters = new Set<() => void>()
  const notify = () => { for (const w of [...waiters]) w() }
  const waitFor = (cond: () => boolean, ms: number) =>
    new Promise<boolean>((resolve) => {
      if (cond()) return resolve(true)
      const check = () => { if (cond()) { clearTimeout(t); waiters.delete(check); resolve(true) } }
      const t = setTimeout(() => { waiters.delete(check); resolve(cond()) }, ms)
      waiters.add(check)
    })

  const spawn = () => {
    const worker = new Worker(workerUrl, workerOptions({ shared: shared.buffer, workers: opts.workers }))
    const ws: WorkerStatus = { id: worker.threadId, uws: 'unknown', version: undefined, ports: [], error: undefined }
    workers.set(worker.threadId, { worker, status: ws })
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'started') ws.uws = m.uws
      else if (m.type === 'applied') {
        ws.version = m.version
        ws.ports = m.ports
        ws.error = m.failed.length ? m.failed.map((f) => f.error).join('; ') : undefined
        for (const f of m.failed) log('error', 'listener failed', { worker: m.worker, port: f.port, error: f.error })
      } else if (m.type === 'apply-failed') ws.error = m.error
      else if (m.type === 'clusters') clusterReplies.get(m.id)?.(m.worker, m.data)
      else if (m.type === 'drained') ws.drained = true
      notify()
    })
    worker.on('error', (e) => log('error', 'worker crashed', { worker: ws.id, error: e.message }))
    worker.on('exit', (code) => {
      workers.delete(ws.id)
      status.workers = [...workers.values()].map((w) => w.status)
      notify()
      if (!status.shuttingDown) {
        log('error', 'worker exited; starting a replacement', { worker: ws.id, code })
        spawn()
      }
    })
    worker.postMessage({ type: 'snapshot', ir: status.ir, slots: currentSlots } satisfies ToWorker)
    status.workers = [...workers.values()].map((w) => w.status)
  }
  for (let i = 0; i < opts.workers; i++) spawn()
  const allOn = (version: string) => () => [...workers.values()].every((w) => w.status.version === version || w.status.error !== undefined)
  await waitFor(allOn(first.ir.version), 10_000)
  const failedWorkers = [...workers.values()].filter((w) => w.status.error || w.status.version !== first.ir.version)
  if (failedWorkers.length) {
    status.shuttingDown = true
    await Promise.all([...workers.values()].map((w) => w.worker.terminate()))
    throw new StartupError(failedWorkers.map((w) => w.status.error ?? 'worker did not start').join('; '))
  }
  log('info', 'serving', { version: first.ir.version, source: first.ir.source, workers: opts.workers, listeners: first.ir.listeners.map((l) => `${l.name}@${l.address}:${l.port}`).join(',') })

  // Reloads: newest wins, one compile at a time.
  let running = false
  let again = false
  const reload = async () => {
    if (status.shuttingDown) return
    if (running) { again = true; return }
    running = true
    try {
      do {
        again = false
        const r = await compileFrom(opts.source)
        const at = new Date().toISOString()
        if (!r.ok) {
          const errors = r.diagnostics.map(formatDiagnostic)
          status.lastReload = { at, ok: false, errors }
          log('error', `config rejected; still serving version ${status.ir.version}`, { errors: errors.length })
          for (const e of errors) log('error', e)
          continue
        }
        if (r.ir.version === status.ir.version) {
          status.lastReload = { at, ok: true, version: r.ir.version }
          continue
        }
        for (const w of r.ir.warnings) log('warn', w)
        status.ir = r.ir
        status.loadedAt = at
        status.lastReload = { at, ok: true, version: r.ir.version }
        currentSlots = slotsFor(r.ir)
        health.apply(r.ir, currentSlots)
        scrapes.apply(r.ir, currentSlots)
        for (const w of workers.values()) w.worker.postMessage({ type: 'snapshot', ir: r.ir, slots: currentSlots } satisfies ToWorker)
        await waitFor(allOn(r.ir.version), 5000)
        log('info', 'config applied', { version: r.ir.version })
      } while (again)
    } catch (e) {
      log('error', 'reload failed', { error: (e as Error).message })
    } finally {
      running = false
    }
  }
  opts.source.watch(() => void reload())

  const adminPort = opts.adminPort ?? first.ir.admin.port
  let admin: AdminHandle | undefined
  if (adminPort !== 0) admin = await startAdmin(first.ir.admin.address, adminPort, status)

  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      status.shuttingDown = true
      health.stop()
      scrapes.stop()
      log('info', 'draining', { timeout_ms: status.ir.drainTimeoutMs })
      await opts.source.close().catch(() => {})
      for (const w of workers.values()) w.worker.postMessage({ type: 'drain' } satisfies ToWorker)
      const allDrained = () => [...workers.values()].every((w) => w.status.drained)
      if (!(await waitFor(allDrained, status.ir.drainTimeoutMs))) {
        log('warn', 'drain timeout reached; closing connections with requests still in flight')
        for (const w of workers.values()) w.worker.postMessage({ type: 'destroy' } satisfies ToWorker)
        await waitFor(allDrained, 2000)
      }
      await Promise.all([...workers.values()].map((w) => w.worker.terminate()))
      admin?.close()
      log('info', 'stopped')
    })())
  return { stop, status }
}

async function compileFrom(source: ConfigSource) {
  try {
    const { sources, version } = await source.load()
    const r = compileConfig(sources, { source: source.description, ...(version !== undefined && { version }), dryBuild })
    return r.ok || !source.mapDiagnostic ? r : { ok: false as const, diagnostics: r.diagnostics.map((d) => source.mapDiagnostic!(d)) }
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    const d: Diagnostic = { code: 'SY_CFG_IO', source: source.description, line: 1, col: 1, path: '', message: `${err.code ?? 'error'}: ${err.message}` }
    return { ok: false as const, diagnostics: [d] }
  }
}
