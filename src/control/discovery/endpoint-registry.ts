/**
 * The endpoints that registered themselves in etcd, for every cluster with `discovery`: each
 * cluster's prefix is read once when the cluster first appears and then watched; every change
 * re-reads the whole prefix (one range read: the state at one revision) and asks for a reload,
 * which compiles the config again with `current()` (compile-source.ts). Registrations therefore go
 * through the same compile as configured endpoints, and a rejected compile leaves the last good
 * endpoints serving.
 *
 * - A lease that expires deletes its key: the watch sees the delete, the endpoint leaves.
 * - A bad value is logged at `<key>:line:col` and ignored; a key that held a good value keeps it
 *   (the last good registration) until the key goes away.
 * - Two keys with one URL: the first key (in key order) wins; the other is reported once.
 * - etcd unreachable: the registrations last read keep serving; the watch reconnects and resyncs.
 *
 * @example
 * const registry = new EndpointRegistry()
 * await registry.follow(ir.clusters)             // inside a compile: reads new prefixes
 * registry.watch(() => void reloads.request())   // a registration came or went
 */
import { createHash } from 'node:crypto'
import type { Etcd3, Watcher } from 'etcd3'
import type { ClusterIR, DiscoveredEndpoint } from '../../compiler/ir.js'
import { formatDiagnostic } from '../../compiler/diagnostics.js'
import { log } from '../../shared/log.js'
import { etcdErrorMessage } from '../sources/etcd-layout.js'
import { parseRegistration } from './registration.js'

const ID = /^[A-Za-z0-9._-]{1,64}$/

interface Followed {
  readonly cluster: string
  readonly prefix: string
  readonly etcd: string
  /** Last good registration by key. */
  readonly byKey: Map<string, DiscoveredEndpoint>
  /** The raw value last seen per key, so a bad value is logged once, not at every read. */
  readonly seen: Map<string, string>
  /** Keys whose value is rejected now, with the formatted diagnostic. */
  readonly rejected: Map<string, string>
  watcher?: Watcher
  timer?: NodeJS.Timeout
  lastError?: string
}

export interface RegistryStatus {
  readonly cluster: string
  readonly prefix: string
  readonly etcd: string
  readonly registered: readonly { readonly key: string; readonly url: string; readonly weight: number; readonly name: string }[]
  readonly rejected: readonly string[]
  readonly error?: string
}

export interface EndpointRegistryOptions {
  /** Per-call deadline (the first read at start waits at most this long). Default 2000 ms. */
  readonly callTimeoutMs?: number
  /** Bursts of watch events within this window make one re-read. Default 20 ms. */
  readonly coalesceMs?: number
}

export class EndpointRegistry {
  private readonly followed = new Map<string, Followed>()
  private readonly clients = new Map<string, Promise<Etcd3>>()
  private readonly duplicatesReported = new Set<string>()
  private onChange: (() => void) | undefined
  private closed = false

  constructor(private readonly opts: EndpointRegistryOptions = {}) {}

  /** Calls onChange whenever a cluster's registrations changed (after they were read). */
  watch(onChange: () => void): void {
    this.onChange = onChange
  }

  /** Registered endpoints by cluster, deduplicated by URL; what the next compile uses. */
  current(): Record<string, DiscoveredEndpoint[]> {
    const out: Record<string, DiscoveredEndpoint[]> = {}
    for (const f of this.followed.values()) {
      const byUrl = new Map<string, DiscoveredEndpoint>()
      for (const key of [...f.byKey.keys()].sort()) {
        const e = f.byKey.get(key)!
        const first = byUrl.get(e.url)
        if (!first) byUrl.set(e.url, e)
        else if (!this.duplicatesReported.has(key)) {
          this.duplicatesReported.add(key)
          log('warn', `${key}: endpoint ${e.url} is registered twice; ${first.key} serves it`, { cluster: f.cluster })
        }
      }
      if (byUrl.size > 0) out[f.cluster] = [...byUrl.values()]
    }
    return out
  }

  /** A short hash of current(), for versions that do not hash the content (etcd revisions). */
  fingerprint(): string | undefined {
    const c = this.current()
    if (Object.keys(c).length === 0) return undefined
    return createHash('sha256').update(JSON.stringify(c)).digest('hex').slice(0, 8)
  }

  /**
   * Follows the discovery clusters of a compiled config: reads and watches the ones not followed
   * yet, stops following the ones gone. True when it read a cluster for the first time (its
   * registrations were not in the compile that produced `clusters`).
   */
  async follow(clusters: readonly ClusterIR[]): Promise<boolean> {
    const wanted = new Map<string, ClusterIR>()
    for (const c of clusters) if (c.discovery) wanted.set(`${c.name}\0${c.discovery.etcdEndpoints.join(',')}\0${c.discovery.prefix}`, c)
    for (const [id, f] of this.followed) if (!wanted.has(id)) this.unfollow(id, f)
    const added: Followed[] = []
    for (const [id, c] of wanted) {
      if (this.followed.has(id)) continue
      const f: Followed = { cluster: c.name, prefix: c.discovery!.prefix, etcd: c.discovery!.etcdEndpoints.join(','), byKey: new Map(), seen: new Map(), rejected: new Map() }
      this.followed.set(id, f)
      added.push(f)
    }
    const reads = await Promise.all(added.map(async (f) => {
      const changed = await this.read(f)
      this.startWatch(f)
      return changed
    }))
    return reads.some(Boolean)
  }

  status(): RegistryStatus[] {
    return [...this.followed.values()].map((f) => ({
      cluster: f.cluster, prefix: f.prefix, etcd: f.etcd,
      registered: [...f.byKey.values()].map(({ key, url, weight, name }) => ({ key, url, weight, name })),
      rejected: [...f.rejected.values()],
      ...(f.lastError !== undefined && { error: f.lastError }),
    }))
  }

  async close(): Promise<void> {
    this.closed = true
    for (const [id, f] of this.followed) this.unfollow(id, f)
    const clients = [...this.clients.values()]
    this.clients.clear()
    for (const c of clients) (await c.catch(() => undefined))?.close()
  }

  private client(etcd: string): Promise<Etcd3> {
    let c = this.clients.get(etcd)
    if (!c) {
      // Loaded on use: etcd3 brings gRPC, which configs without discovery do without.
      c = import('../sources/etcd-client.js').then((m) => m.createEtcdClient({ endpoints: etcd.split(','), callTimeoutMs: this.opts.callTimeoutMs ?? 2000 }))
      this.clients.set(etcd, c)
    }
    return c
  }

  /** Re-reads the prefix; true when the registrations changed. Never throws. */
  private async read(f: Followed): Promise<boolean> {
    let kvs: { key: Buffer; value: Buffer }[]
    try {
      kvs = (await (await this.client(f.etcd)).getAll().prefix(f.prefix).exec()).kvs
    } catch (e) {
      const error = etcdErrorMessage(e)
      if (f.lastError === undefined) log('warn', `cannot read endpoint registrations for cluster '${f.cluster}'; the last read ones keep serving`, { etcd: f.etcd, prefix: f.prefix, error })
      f.lastError = error
      this.retryLater(f)
      return false
    }
    if (f.lastError !== undefined) log('info', `endpoint registrations for cluster '${f.cluster}' readable again`, { etcd: f.etcd, prefix: f.prefix })
    f.lastError = undefined
    const before = JSON.stringify([...f.byKey])
    const present = new Set<string>()
    for (const kv of kvs) {
      const key = kv.key.toString()
      const text = kv.value.toString()
      present.add(key)
      if (f.seen.get(key) === text) continue
      f.seen.set(key, text)
      const id = key.slice(f.prefix.length)
      const r = ID.test(id)
        ? parseRegistration(key, id, text)
        : { ok: false as const, diagnostic: { code: 'SY_CFG_REGISTRATION' as const, source: key, line: 1, col: 1, path: '', message: `the key must be <prefix><cluster>/<id> with an id of 1–64 letters, digits, '.', '_' or '-'` } }
      if (r.ok) {
        f.byKey.set(key, r.endpoint)
        f.rejected.delete(key)
        continue
      }
      const msg = formatDiagnostic(r.diagnostic)
      f.rejected.set(key, msg)
      const kept = f.byKey.get(key)
      log('error', `endpoint registration rejected${kept ? `; its last good value (${kept.url}) keeps serving` : ''}: ${msg}`, { cluster: f.cluster })
    }
    for (const key of [...f.seen.keys()]) {
      if (present.has(key)) continue
      f.seen.delete(key)
      f.rejected.delete(key)
      f.byKey.delete(key)
      this.duplicatesReported.delete(key)
    }
    return JSON.stringify([...f.byKey]) !== before
  }

  private startWatch(f: Followed): void {
    if (this.closed) return
    void this.client(f.etcd).then((client) => {
      if (this.closed || !this.isFollowed(f)) return
      const w = client.watch().prefix(f.prefix).watcher()
      f.watcher = w
      // A reconnect may have missed events: re-read then too.
      w.on('connected', () => this.schedule(f))
      w.on('data', (res) => {
        if (res.events.length > 0) this.schedule(f)
      })
      w.on('disconnected', () => {})
      w.on('error', (e) => {
        if (f.watcher !== w) return
        log('warn', 'endpoint registration watch cancelled by etcd; restarting it', { cluster: f.cluster, error: etcdErrorMessage(e) })
        w.removeAllListeners()
        w.on('error', () => {})
        f.watcher = undefined
        setTimeout(() => this.startWatch(f), 200)
      })
    }, () => {})
  }

  /** One re-read for a burst of events; a changed set asks for a reload. */
  private schedule(f: Followed): void {
    if (this.closed || f.timer) return
    f.timer = setTimeout(() => {
      f.timer = undefined
      void this.read(f).then((changed) => {
        if (changed && !this.closed && this.isFollowed(f)) this.onChange?.()
      })
    }, this.opts.coalesceMs ?? 20)
  }

  private retryLater(f: Followed): void {
    if (this.closed || f.timer) return
    f.timer = setTimeout(() => {
      f.timer = undefined
      void this.read(f).then((changed) => {
        if (changed && !this.closed && this.isFollowed(f)) this.onChange?.()
      })
    }, 1000)
  }

  private isFollowed(f: Followed): boolean {
    for (const x of this.followed.values()) if (x === f) return true
    return false
  }

  private unfollow(id: string, f: Followed): void {
    this.followed.delete(id)
    if (f.timer) clearTimeout(f.timer)
    const w = f.watcher
    f.watcher = undefined
    if (w) void w.cancel().catch(() => {})
  }
}
