/**
 * Worker thread entry: owns one Gateway, its stores and its uWS listeners (SO_REUSEPORT lets every
 * worker listen on the same ports). Receives plain-data SnapshotIR from the main thread and builds
 * its own matchers/filters/pools from it — closures cannot cross threads.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads'
import { buildChecked, dryBuild } from './build/dry-build.js'
import { loadPluginModules, pluginUrlsOf, pluginsReady } from './plugins/js/modules.js'
import { Gateway } from './gateway.js'
import { ListenerSet } from './http/server.js'
import { createStores } from './stores.js'
import { RequestMetrics, type WorkerMetricsReport } from './telemetry/request-metrics.js'
import { wasmPluginFamilies } from './plugins/wasm/metrics.js'
import { combineTelemetry } from './telemetry/snapshot-telemetry.js'
import { RequestTracing } from './telemetry/tracing/request-tracing.js'
import { TracerHost } from './telemetry/tracing/tracer-host.js'
import { uwsBuild } from '../shared/uws.js'
import { takeProfile } from './profiler.js'
import { installBatchRelay, settleBatchApi } from './batches/api-relay.js'
import { runLine } from './batches/line-dispatch.js'
import { configureLog, log, setLogScrubber } from '../shared/log.js'
import { startHeapTrim } from '../shared/heap-trim.js'
import type { CompiledCluster } from './types.js'
import type { FromWorker, ToWorker, WorkerData } from '../control/messages.js'
import type { Pool } from 'undici'

const port = parentPort!
const data = workerData as WorkerData
const stores = createStores({ buffer: data.shared, slots: {}, workers: data.workers, ...(data.limits && { limits: data.limits }), ...(data.sessions && { sessions: data.sessions }), ...(data.group !== undefined && { group: data.group }) })
const gateway = new Gateway(stores)
const listeners = new ListenerSet(gateway)
const metrics = new RequestMetrics(() => gateway.inflight)
const tracer = new TracerHost()
const tracing = new RequestTracing(tracer)
const send = (m: FromWorker) => port.postMessage(m)

send({ type: 'started', worker: threadId, uws: uwsBuild })
// Old generation kept near what is alive under steady load (shared/heap-trim.ts).
const heapTrim = startHeapTrim()
installBatchRelay(threadId, send)

/**
 * Last line of defence behind the per-request boundary (internal-error.ts). An exception that still
 * escapes leaves this thread in an unknown state, so it ends — but it closes its uWS apps first:
 * a thread that exits with uWS sockets open aborts the whole process (uv_loop_close assertion),
 * taking every other worker with it. The supervisor starts a replacement.
 */
let dying = false
process.on('uncaughtException', (e) => {
  if (dying) return
  dying = true
  log('error', 'worker failed; closing its listeners so the supervisor can replace it', { error: (e as Error)?.message ?? String(e), at: (e as Error)?.stack?.split('\n')[1]?.trim() })
  try {
    listeners.closeAll()
    listeners.destroy()
  } catch {}
  // Give uWS one turn of the loop to release its handles before the thread exits.
  setTimeout(() => process.exit(70), 20)
})
// A stray rejected promise is logged, not fatal: no request state is left half-changed by it.
process.on('unhandledRejection', (e) => log('error', 'unhandled promise rejection in a worker', { error: (e as Error)?.message ?? String(e) }))


// SWITCHYARD_DEBUG_HEAP=<seconds>: log this worker's V8 heap periodically (soak investigations).
const heapEvery = Number(process.env.SWITCHYARD_DEBUG_HEAP ?? 0)
if (heapEvery > 0) {
  setInterval(() => {
    const m = process.memoryUsage()
    log('info', 'heap', { heap_used_mb: +(m.heapUsed / 1e6).toFixed(2), heap_total_mb: +(m.heapTotal / 1e6).toFixed(2), external_mb: +(m.external / 1e6).toFixed(2), array_buffers_mb: +(m.arrayBuffers / 1e6).toFixed(2), rss_mb: +(m.rss / 1e6).toFixed(1), forced_gcs: heapTrim?.collections ?? 0 })
  }, heapEvery * 1000).unref()
}

/** Per endpoint url: eligibility (guard), balancer state, this worker's open connections. */
function describeCluster(c: CompiledCluster): Record<string, unknown> {
  const guard = c.guard?.describe()
  const lb = c.lb.describe?.()
  const out: Record<string, unknown> = {}
  for (const e of c.endpoints) {
    const pool = e.pool as Pool | undefined
    out[e.url] = {
      ...((guard?.[e.url] as object | undefined) ?? { eligible: true, reasons: [] }),
      ...(lb?.[e.url] as object | undefined),
      ...(pool?.stats && { connections: pool.stats.connected, pool_pending: pool.stats.pending }),
    }
  }
  return out
}

/** The tracer's span counters join the worker's metric series (they exist once tracing was ever configured). */
function withTraceCounts(report: WorkerMetricsReport): WorkerMetricsReport {
  const wasm = wasmPluginFamilies()
  if (wasm.length > 0) report = { ...report, families: [...report.families, ...wasm] }
  return tracer.everUsed ? { ...report, families: [...report.families, ...tracer.families()] } : report
}

let applying: Promise<void> | undefined

function applySnapshot(m: Extract<ToWorker, { type: 'snapshot' }>): void {
  try {
    stores.setSlots(m.slots)
    stores.setCacheBuffers(m.caches)
    const built = buildChecked(m.ir, stores, combineTelemetry(metrics.forSnapshot(m.ir), tracing.forSnapshot(m.ir)))
    if ('problems' in built) {
      const error = built.problems.map((p) => `filter '${p.filter}': ${p.message}`).join('; ')
      log('error', 'snapshot build failed', { version: m.ir.version, error })
      send({ type: 'apply-failed', worker: threadId, version: m.ir.version, error, problems: built.problems })
      return
    }
    const snap = built.snapshot
    gateway.swap(snap)
    // This thread's own log lines: the new level at once, and the new config's secrets masked.
    configureLog(m.ir.log)
    setLogScrubber(snap.scrub.active ? (s) => snap.scrub.text(s) : undefined)
    const failed = listeners.reconcile(snap)
    const applied = (f: { port: number; error: string }[]) => send({ type: 'applied', worker: threadId, version: snap.version, ports: listeners.ports, failed: f })
    if (Array.isArray(failed)) applied(failed)
    else void failed.then(applied)
  } catch (e) {
    log('error', 'snapshot build failed', { version: m.ir.version, error: (e as Error).message })
    send({ type: 'apply-failed', worker: threadId, version: m.ir.version, error: (e as Error).message })
  }
}

/** A reload's dry build (the main thread has no runtime to run it): the filters' objections, or what else the build threw. */
function answerDryBuild(m: Extract<ToWorker, { type: 'dry-build' }>): void {
  try {
    send({ type: 'dry-build', worker: threadId, id: m.id, problems: dryBuild(m.ir) })
  } catch (e) {
    send({ type: 'dry-build', worker: threadId, id: m.id, problems: [], error: (e as Error).message })
  }
}

/**
 * Plugin modules are imported before a build (imports are asynchronous); builds still run in the
 * order their messages came.
 */
function withPlugins(ir: Extract<ToWorker, { type: 'snapshot' }>['ir'], build: () => void): void {
  if (applying === undefined && pluginsReady(ir)) return build()
  const prior = applying ?? Promise.resolve()
  const next: Promise<void> = (applying = prior
    .then(() => loadPluginModules(pluginUrlsOf(ir)))
    .then(() => {
      if (applying === next) applying = undefined
      if (!listeners.draining) build()
    }))
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'snapshot':
      if (!listeners.draining) withPlugins(m.ir, () => applySnapshot(m))
      return
    case 'dry-build':
      withPlugins(m.ir, () => answerDryBuild(m))
      return
    case 'cache': {
      const caches = stores.responseCaches()
      let removed = 0
      if (m.purge !== undefined) for (const c of caches) removed += c.purge(m.purge)
      send({ type: 'cache', worker: threadId, id: m.id, data: { removed, caches: caches.map((c) => c.describe()), semantic: stores.semanticStates().map((s) => s.describe()) } })
      return
    }
    case 'clusters': {
      const data: Record<string, unknown> = {}
      for (const [name, c] of gateway.current?.clusters ?? []) data[name] = describeCluster(c)
      send({ type: 'clusters', worker: threadId, id: m.id, data })
      return
    }
    case 'metrics':
      send({ type: 'metrics', worker: threadId, id: m.id, data: withTraceCounts(metrics.report()) })
      return
    case 'profile':
      void takeProfile(m).then((r) => port.postMessage({ type: 'profile', worker: threadId, id: m.id, ...r } satisfies FromWorker, r.ok ? r.chunks : []))
      return
    case 'batch-line': {
      const id = m.id
      runLine(gateway, m, (r) => send({ type: 'batch-line', worker: threadId, id, ...r }))
      return
    }
    case 'batch-api-reply':
      settleBatchApi(m.id, m)
      return
    case 'drain':
      listeners.draining = true
      listeners.closeAll()
      gateway.idle().then(async () => {
        listeners.destroy()
        await stores.pools.closeAll()
        await tracer.flush().catch(() => {})
        send({ type: 'drained', worker: threadId })
      })
      return
    case 'destroy':
      // Drain timeout: cut what is still running so the thread can exit cleanly.
      listeners.destroy()
      void stores.pools.closeAll().finally(() => send({ type: 'drained', worker: threadId }))
      return
  }
})
