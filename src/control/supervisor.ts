/**
 * The main thread of `switchyard run`: compiles config once for all workers, keeps the worker
 * pool on the newest good snapshot, runs the process-wide jobs (health checks, load scrapes,
 * shared-state slots), serves the admin API, and drains everything on stop.
 *
 * @example
 * const gateway = await Supervisor.start({ source: createFileSource('switchyard.yaml'), workers: 4 })
 * process.once('SIGTERM', () => void gateway.stop())
 */
import type { Diagnostic } from '../compiler/diagnostics.js'
import type { SnapshotIR } from '../compiler/ir.js'
import type { ConfigSource } from './sources/source.js'
import type { GatewayStatus } from './messages.js'
import { startAdmin, type AdminHandle } from './admin/server.js'
import { uwsBuild } from '../shared/uws.js'
import { SharedStateTable } from '../shared/shared-state.js'
import { LimitTable } from '../runtime/limits/local-limiter.js'
import { LimitUsage } from './limit-usage.js'
import { ConfigHistory } from './config-history.js'
import { auditConfigChange } from './audit-records.js'
import { HealthChecks } from './health-checks.js'
import { LoadScrapes } from './load-scrapes.js'
import { WorkerPool } from './worker-pool.js'
import { ReloadQueue } from './reload-queue.js'
import { describeClusters } from './cluster-status.js'
import { renderMetrics } from './metrics/scrape.js'
import { controlFamilies } from './metrics/control-families.js'
import { clusterFamilies } from './metrics/cluster-gauges.js'
import { describeExperiments } from './metrics/experiments.js'
import { Rollouts, rolloutSlotKeys } from './rollouts.js'
import { CacheAdmin } from './cache-view.js'
import { checkBuild, compileSource, rejectedBuild } from './compile-source.js'
import { CompileThread, compileThreadIdleMs } from './compile-thread.js'
import type { CompileResult } from '../compiler/index.js'
import { SessionMemoryHost } from '../shared/session-memory.js'
import { SessionAdmin } from './session-admin.js'
import type { BatchService } from './batches/service.js'
import { clusterLoad } from './batches/priority.js'
import { EndpointRegistry } from './discovery/endpoint-registry.js'
import { configureLog, log, setLogScrubber } from '../shared/log.js'
import { createScrubber } from '../runtime/upstream/scrub.js'
import { startHeapTrim, type HeapTrim } from '../shared/heap-trim.js'

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

export const UWS_FALLBACK = `uWebSockets.js could not load its native addon for Node ${process.versions.node} on ${process.platform}-${process.arch} and runs its slow JavaScript fallback`

/** How long the first snapshot may take to reach every worker, and how long a reload waits for them. */
const START_TIMEOUT_MS = 10_000
const RELOAD_WAIT_MS = 5000
/** How long a worker may take to dry-build a reload's config (plugin modules are imported first). */
const DRY_BUILD_WAIT_MS = 10_000

export class Supervisor {
  /** What the admin API reads; every field is read through to the part that owns it. */
  readonly status: GatewayStatus
  private readonly shared = new SharedStateTable()
  /** The `scope: local` limit buckets every worker shares (1 MiB: 65,536 cells); they outlive every snapshot. */
  private readonly limits = { buffer: LimitTable.createBuffer() }
  private readonly usage = new LimitUsage(this.limits.buffer)
  /** The `session` filters' memory stores, one per process: every worker reaches them over its port. */
  private readonly sessionMemory = new SessionMemoryHost()
  /** The configs applied, newest first (admin /config/history). */
  private readonly history = new ConfigHistory()
  private readonly health: HealthChecks
  private readonly scrapes: LoadScrapes
  private readonly pool: WorkerPool
  private readonly caches: CacheAdmin
  private readonly reloads: ReloadQueue
  /** Progressive canaries: their shares in the shared table, their steps judged from the workers' metrics. */
  private readonly rollouts: Rollouts
  private slots: Record<string, number>
  private admin: AdminHandle | undefined
  private heapTrim: HeapTrim | undefined
  /** The Batch API and its executor (control/batches/), when the first config has a `batches` section. */
  private batches: BatchService | undefined
  private stopping: Promise<void> | undefined

  /**
   * Compiles the source, starts the workers and waits until all serve the first snapshot, then
   * watches the source and opens the admin API. Throws StartupError on an invalid config or
   * workers that cannot serve it (after ending them).
   */
  static async start(opts: RunOptions): Promise<Supervisor> {
    const discovery = new EndpointRegistry()
    const compiler = new CompileThread({ idleMs: compileThreadIdleMs() })
    const first = await compileSource(opts.source, discovery, compiler)
    // Gone before the workers start: its isolate and theirs never add up (bench/SOAK.md).
    await compiler.close()
    if (!first.ok) {
      await discovery.close()
      throw new StartupError('invalid configuration', first.diagnostics)
    }
    applyLogSettings(first.ir)
    for (const w of first.ir.warnings) log('warn', w)
    log('info', 'uWebSockets.js loaded', { build: uwsBuild })
    if (uwsBuild !== 'native') {
      if (opts.requireNative || first.ir.requireNative) {
        await discovery.close()
        throw new StartupError(`${UWS_FALLBACK}; refusing to start (${opts.requireNative ? '--require-native' : 'runtime.require_native'})`)
      }
      log('error', `${UWS_FALLBACK}; serving anyway (set runtime.require_native or --require-native to refuse)`)
    }
    const supervisor = new Supervisor(opts, first.ir, discovery, compiler)
    await supervisor.serve(first).catch(async (e) => {
      await discovery.close()
      throw e
    })
    return supervisor
  }

  private constructor(private readonly opts: RunOptions, first: SnapshotIR, private readonly discovery: EndpointRegistry, private readonly compiler: CompileThread) {
    // With etcd the rollout state is shared by every host on the prefix (sources/etcd-rollout-state.ts).
    const store = opts.source.rolloutStore?.()
    this.rollouts = new Rollouts({ cells: new Int32Array(this.shared.buffer), query: () => this.pool.queryMetrics(), workers: () => this.pool.statuses.length, ...(store && { store }) })
    this.slots = this.slotsFor(first)
    this.recordHistory(first)
    this.health = new HealthChecks(this.shared.buffer)
    this.scrapes = new LoadScrapes(this.shared.buffer)
    this.pool = new WorkerPool({ size: opts.workers, shared: this.shared.buffer, limits: this.limits.buffer, sessions: this.sessionMemory })
    this.caches = new CacheAdmin((purge) => this.pool.queryCache(purge), (ir) => this.usage.connection(ir))
    this.reloads = new ReloadQueue(first, { compile: () => this.compileReload(), apply: (ir) => this.apply(ir) })
    const { reloads, pool } = this
    const stopping = () => this.stopping !== undefined
    this.status = {
      source: opts.source,
      get ir() { return reloads.current },
      get loadedAt() { return reloads.loadedAt },
      get lastReload() { return reloads.lastReload },
      get workers() { return pool.statuses },
      get shuttingDown() { return stopping() },
      clusters: () => this.describeClusters(),
      cache: (purge) => this.caches.describe(reloads.current, purge),
      limits: this.usage,
      sessions: new SessionAdmin(this.sessionMemory, (ir) => this.usage.connection(ir)),
      history: this.history,
      metrics: () => this.renderMetrics(),
      experiments: () => this.describeExperiments(),
      rollouts: this.rollouts,
      // The request's own duration plus time to write and ship the result.
      profile: (worker, request) => pool.profile(worker, request, request.seconds * 1000 + 60_000),
    }
  }

  /**
   * A reload's compile, and — when it is a new version — its dry build in a worker (the main
   * thread does not load the runtime): a filter that rejects its config rejects the reload, located.
   */
  private async compileReload(): Promise<CompileResult> {
    const r = await compileSource(this.opts.source, this.discovery, this.compiler)
    if (!r.ok || r.ir.version === this.reloads.current.version) return r
    return checkBuild(this.opts.source, r, (ir) => this.pool.dryBuild(ir, DRY_BUILD_WAIT_MS))
  }

  private async serve(compiled: Extract<CompileResult, { ok: true }>): Promise<void> {
    const { opts } = this
    const first = compiled.ir
    this.health.apply(first, this.slots)
    this.scrapes.apply(first, this.slots)
    // A restarted host takes the shared rollout step before its first request.
    await this.rollouts.apply(first, this.slots)
    this.pool.start(first, this.slots)
    await this.pool.whenAllOn(first.version, START_TIMEOUT_MS)
    const failed = this.pool.behind(first.version)
    if (failed.length) {
      this.health.stop()
      this.scrapes.stop()
      await this.rollouts.close()
      await this.pool.terminate()
      // The first start's dry build is the workers' own build: its filter problems are the config's errors.
      const problems = failed.find((w) => w.problems !== undefined)?.problems
      if (problems !== undefined) throw new StartupError('invalid configuration', rejectedBuild(opts.source, compiled, problems).diagnostics)
      throw new StartupError(failed.map((w) => w.error ?? 'worker did not start').join('; '))
    }
    if (first.batches !== undefined) {
      // Loaded only here: the NATS client behind it costs the main isolate ≈2.3 MB of heap.
      const { BatchService } = await import('./batches/service.js')
      const cells = new Int32Array(this.shared.buffer)
      const batches = (this.batches = new BatchService(first.batches, { run: (line) => this.pool.runLine(line), load: () => clusterLoad(cells, this.reloads.current, this.slots) }))
      this.pool.batchApi = (request) => batches.handle(request)
      void batches.start()
    }
    log('info', 'serving', { version: first.version, source: first.source, workers: opts.workers, listeners: first.listeners.map((l) => `${l.name}@${l.address}:${l.port}`).join(',') })
    opts.source.watch(() => void this.reload())
    this.discovery.watch(() => void this.reload())
    // Connected now, so /ready can tell at once whether Redis answers.
    this.usage.connection(first)
    const adminPort = opts.adminPort ?? first.admin.port
    if (adminPort !== 0) this.admin = await startAdmin(first.admin.address, adminPort, this.status)
    // The startup compile's garbage goes now rather than whenever V8's memory reducer gets to it (shared/heap-trim.ts).
    this.heapTrim = startHeapTrim()
    this.heapTrim?.collect()
  }

  /** Compiles the source again and, if it changed and is valid, moves every worker to it. */
  reload(): Promise<void> {
    return this.reloads.request()
  }

  /** Drains: stops reloads and checks, lets workers finish in-flight requests (up to the drain timeout), then ends them. */
  stop(): Promise<void> {
    return (this.stopping ??= this.drain())
  }

  private async drain(): Promise<void> {
    this.heapTrim?.stop()
    this.reloads.close()
    await this.compiler.close()
    this.rollouts.stop()
    this.pool.retire()
    this.health.stop()
    this.scrapes.stop()
    const timeoutMs = this.reloads.current.drainTimeoutMs
    log('info', 'draining', { timeout_ms: timeoutMs })
    await this.rollouts.close()
    await this.opts.source.close().catch(() => {})
    // Running lines finish (and are acked) while the workers still serve them.
    // Bounded by the drain timeout: a line still running after it is delivered again elsewhere.
    if (this.batches) await Promise.race([this.batches.stop().catch((e) => log('warn', 'batch service stop failed', { error: (e as Error).message })), new Promise((r) => setTimeout(r, timeoutMs).unref())])
    await this.discovery.close().catch(() => {})
    await this.pool.drain(timeoutMs)
    await this.pool.terminate()
    this.admin?.close()
    await this.usage.close()
    log('info', 'stopped')
  }

  /** The audit record of a config change (audit-records.ts): which objects, from where, pushed by whom. */
  private recordHistory(ir: SnapshotIR): void {
    const previous = this.history.list()[0]?.version
    const e = this.history.record(ir, new Date().toISOString(), this.opts.source.lastPush?.())
    auditConfigChange(e, previous)
  }

  /** A newly accepted snapshot: slots for its keys, checks and scrapes for its endpoints, then the workers. */

  private async apply(ir: SnapshotIR): Promise<void> {
    applyLogSettings(ir)
    this.recordHistory(ir)
    this.slots = this.slotsFor(ir)
    this.health.apply(ir, this.slots)
    this.scrapes.apply(ir, this.slots)
    this.usage.connection(ir)
    await this.rollouts.apply(ir, this.slots)
    this.pool.publish(ir, this.slots)
    await this.pool.whenAllOn(ir.version, RELOAD_WAIT_MS)
  }

  private slotsFor(ir: SnapshotIR): Record<string, number> {
    const slots = this.shared.assign([...ir.clusters.flatMap((c) => [`cluster:${c.name}`, ...c.endpoints.map((e) => `${c.name}|${e.url}`)]), ...rolloutSlotKeys(ir)])
    if (this.shared.exhausted) log('warn', 'shared state table is full; new endpoints count in-flight requests per worker')
    return slots
  }

  /** /metrics: every worker's series (when metrics are on), the cluster state as /clusters shows it, config and reloads. */
  private async renderMetrics(): Promise<string> {
    const ir = this.reloads.current
    const off = ir.telemetry?.metrics.enabled === false
    const [reports, clusters, caches] = await Promise.all([off ? new Map() : this.pool.queryMetrics(), this.describeClusters(), off ? [] : this.caches.families(ir)])
    const own = [
      ...caches,
      ...controlFamilies({ ir, loadedAt: this.reloads.loadedAt, reloads: this.reloads.counts, lastReloadOk: this.reloads.lastReload?.ok, workers: this.pool.statuses.length }),
      ...clusterFamilies(ir, clusters),
    ]
    return renderMetrics(reports.values(), own)
  }

  /** /experiments: the current config's weighted splits with the workers' numbers. */
  private async describeExperiments(): Promise<unknown> {
    const ir = this.reloads.current
    const reports = ir.telemetry?.metrics.enabled === false ? new Map() : await this.pool.queryMetrics()
    return describeExperiments(ir, [...reports.values()], (id) => this.rollouts.effectiveWeights(id))
  }

  /** /clusters: the workers are asked first, so the config and counters read after are as fresh as their replies. */
  private async describeClusters(): Promise<Record<string, unknown>> {
    const workers = await this.pool.queryClusters()
    return describeClusters({
      ir: this.reloads.current,
      slots: this.slots,
      cells: new Int32Array(this.shared.buffer),
      health: this.health.snapshot(),
      loads: this.scrapes.snapshot(),
      workers,
    })
  }
}

/** The main thread's own log lines follow the config too: its level and format, its secrets masked. */
function applyLogSettings(ir: SnapshotIR): void {
  configureLog(ir.log)
  const scrub = createScrubber(ir.secrets ?? [])
  setLogScrubber(scrub.active ? (s) => scrub.text(s) : undefined)
}
