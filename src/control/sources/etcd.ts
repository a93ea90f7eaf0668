/**
 * etcd config source: the config is every object under one key prefix (layout in etcd-layout.ts).
 *
 * - load() is one range read of the prefix, so it returns the state at one revision.
 * - watch() watches the prefix from that revision + 1 and coalesces bursts of events into one
 *   reload; the supervisor then compiles the whole prefix again (never a patch).
 * - Lost connection: the etcd3 watcher reconnects (backoff ≤ 1 s) and resumes; every reconnect
 *   triggers a full resync, which also covers a resume that lands before etcd's compacted
 *   revision (the watch is cancelled with "compacted"; we start a new one from now and reload).
 * - Version = the revision at which the prefix last changed (the newest put or delete under it),
 *   not the read's header revision: writes elsewhere in etcd do not bump it, and two gateways on
 *   the same prefix report the same version for the same state.
 * - `<prefix>.state/` (rollout records) is not config: skipped by the read, the version and the
 *   watch. rolloutStore() shares the client for it.
 */
import type { Etcd3, IKeyValue, IRangeResponse, Watcher } from 'etcd3'
import { readPathSources, type SourceText } from '../../compiler/read-sources.js'
import type { Diagnostic } from '../../compiler/diagnostics.js'
import { log } from '../../shared/log.js'
import type { ConfigSource } from './source.js'
import { PUSH_META_KEY, STATE_DIR, etcdErrorMessage, isStateKey, normalizePrefix, parseRelKey, unwrapDiagnostic, wrapValue } from './etcd-layout.js'
import type { PushMeta } from '../config-history.js'
import { createEtcdRolloutStore } from './etcd-rollout-state.js'

export interface EtcdSourceOptions {
  /** A client, or how to make one on first use (keeps the gRPC stack out of processes that never load). */
  readonly client: Etcd3 | (() => Promise<Etcd3>)
  /** For messages and the snapshot's `source`. */
  readonly endpoints: readonly string[]
  readonly prefix: string
  /** A local file/dir served when etcd cannot be reached at start; etcd takes over once it can. */
  readonly fallback?: string
  /** How long the first load keeps trying to reach etcd. Default 5000 ms. */
  readonly connectTimeoutMs?: number
  /** Bursts of changes within this window make one reload. Default 20 ms. */
  readonly coalesceMs?: number
}

export interface EtcdSource extends ConfigSource {
  health(): { ok: boolean; detail: string }
  mapDiagnostic(d: Diagnostic): Diagnostic
}

export class EtcdUnavailableError extends Error {
  readonly code = 'SY_ETCD_UNAVAILABLE'
}

interface PrefixState {
  readonly revision: number
  readonly version: string
  readonly sources: SourceText[]
}

export function createEtcdSource(opts: EtcdSourceOptions): EtcdSource {
  let client: Etcd3 | undefined = typeof opts.client === 'function' ? undefined : opts.client
  const prefix = normalizePrefix(opts.prefix)
  const where = `etcd ${opts.endpoints.join(',')} prefix ${prefix}`
  const coalesceMs = opts.coalesceMs ?? 20

  let last: PrefixState | undefined
  let wrapped = new Set<string>()
  let pushed: PushMeta | undefined
  let servingFallback = false
  let down: { since: number; error: string } | undefined
  let watcher: Watcher | undefined
  let onChange: (() => void) | undefined
  let pending: NodeJS.Timeout | undefined
  let retry: NodeJS.Timeout | undefined
  let closed = false
  const ignoredKeys = new Set<string>()

  const markDown = (e: unknown) => {
    const error = etcdErrorMessage(e)
    if (down) {
      down.error = error
      return
    }
    down = { since: Date.now(), error }
    if (onChange) log('warn', 'etcd connection lost; the current config keeps serving; reconnecting', { etcd: opts.endpoints.join(','), error })
  }
  const markUp = () => {
    if (!down) return
    if (onChange) log('info', 'etcd connection restored; resyncing', { etcd: opts.endpoints.join(','), down_ms: Date.now() - down.since })
    down = undefined
  }
  /** One reload for a burst of triggers. */
  const schedule = () => {
    if (closed || !onChange || pending) return
    pending = setTimeout(() => {
      pending = undefined
      onChange!()
    }, coalesceMs)
  }

  async function read(): Promise<PrefixState> {
    client ??= await (opts.client as () => Promise<Etcd3>)()
    const res: IRangeResponse = await client.getAll().prefix(prefix).exec()
    const revision = Number(res.header.revision)
    const sources: SourceText[] = []
    const names = new Set<string>()
    pushed = undefined
    const configKvs: IKeyValue[] = []
    for (const kv of res.kvs) {
      const key = kv.key.toString()
      if (isStateKey(prefix, key)) continue
      configKvs.push(kv)
      if (key === prefix + PUSH_META_KEY) {
        pushed = pushMetaOf(kv.value.toString())
        continue
      }
      const parsed = parseRelKey(key.slice(prefix.length))
      if (!parsed) {
        if (!ignoredKeys.has(key)) log('warn', 'etcd key outside the config layout ignored', { key })
        ignoredKeys.add(key)
        continue
      }
      names.add(key)
      sources.push({ name: key, text: wrapValue(parsed.kind, kv.value.toString()), baseDir: process.cwd() })
    }
    wrapped = names
    return { revision, version: String(await contentRevision(configKvs, revision)), sources }
  }

  /**
   * The newest revision ≤ `revision` at which the prefix looked as it does now: the newest
   * mod_revision, unless keys were deleted after it (then: the revision of the last delete, found
   * by bisecting on the key count, which only falls between those two revisions).
   */
  async function contentRevision(kvs: IKeyValue[], revision: number): Promise<number> {
    if (kvs.length === 0) return revision
    let lo = Math.max(...kvs.map((kv) => Number(kv.mod_revision)))
    if (lo >= revision) return revision
    const countAt = async (rev: number) => (await client!.getAll().prefix(prefix).revision(rev).count()) - (await client!.getAll().prefix(prefix + STATE_DIR).revision(rev).count())
    try {
      if ((await countAt(lo)) === kvs.length) return lo
      let hi = revision // count(hi) === kvs.length, count(lo) > kvs.length
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2)
        if ((await countAt(mid)) === kvs.length) hi = mid
        else lo = mid
      }
      return hi
    } catch {
      return revision // history compacted: the read's revision is still a correct (if later) version
    }
  }

  async function load(): Promise<{ sources: SourceText[]; version?: string }> {
    const first = last === undefined && !servingFallback
    const deadline = Date.now() + (first ? opts.connectTimeoutMs ?? 5000 : 0)
    for (;;) {
      try {
        last = await read()
        servingFallback = false
        markUp()
        return { sources: last.sources, version: last.version }
      } catch (e) {
        markDown(e)
        if (Date.now() < deadline && !closed) {
          await new Promise((r) => setTimeout(r, 200))
          continue
        }
        if (first && opts.fallback !== undefined) {
          log('warn', `cannot reach etcd; serving the fallback config ${opts.fallback} until it can`, { etcd: opts.endpoints.join(','), error: down!.error })
          servingFallback = true
          wrapped = new Set()
          return { sources: readPathSources(opts.fallback) }
        }
        // During a reload: the supervisor keeps the last good snapshot; try again shortly.
        if (onChange && !retry && !closed) retry = setTimeout(() => { retry = undefined; schedule() }, 1000)
        throw new EtcdUnavailableError(
          first && /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED/.test(down!.error)
            ? `cannot reach ${where}: ${down!.error} (tried for ${opts.connectTimeoutMs ?? 5000} ms); check --etcd, or pass --etcd-fallback <dir> to start from a local config`
            : `cannot read ${where}: ${down!.error}`,
        )
      }
    }
  }

  function startWatch(fromRevision: number | undefined): void {
    if (closed || !client) return
    const b = client.watch().prefix(prefix)
    if (fromRevision !== undefined) b.startRevision(String(fromRevision))
    const w = b.watcher()
    watcher = w
    // The first connect of a watch that resumes exactly where load() read needs no resync;
    // any other connect (reconnect, restart after compaction, start from fallback) does.
    let resync = fromRevision === undefined
    w.on('connected', () => {
      markUp()
      if (resync) schedule()
      resync = true
    })
    w.on('disconnected', (e) => {
      markDown(e)
      resync = true
    })
    w.on('data', (res) => {
      if (res.events.some((ev) => !isStateKey(prefix, ev.kv.key.toString()))) schedule()
    })
    w.on('error', (e) => {
      // The watch was cancelled by etcd, e.g. "required revision has been compacted". The manager
      // has already dropped it; start over from now and reload the whole prefix.
      if (w !== watcher) return
      log('warn', 'etcd watch cancelled by etcd (e.g. the revision it resumes from was compacted); restarting it and resyncing', { error: etcdErrorMessage(e) })
      w.removeAllListeners()
      w.on('error', () => {})
      watcher = undefined
      setTimeout(() => startWatch(undefined), 100)
    })
  }

  return {
    description: `etcd:${opts.endpoints.join(',')}${prefix}`,
    lastPush: () => pushed,
    // After the first load (the client exists then), even from the fallback: the store retries until etcd answers.
    rolloutStore: () => (client ? createEtcdRolloutStore({ client, prefix, endpoints: opts.endpoints }) : undefined),
    load,
    watch(cb) {
      onChange = cb
      startWatch(last && !servingFallback ? last.revision + 1 : undefined)
    },
    health() {
      if (down) {
        const serving = servingFallback ? `the fallback config ${opts.fallback}` : 'the last good config'
        return { ok: false, detail: `${where}: unreachable since ${new Date(down.since).toISOString()} (${down.error}); serving ${serving}; reconnecting` }
      }
      if (servingFallback) return { ok: false, detail: `${where}: connected; still serving the fallback config ${opts.fallback}` }
      return { ok: true, detail: `${where}: connected; last read revision ${last?.revision ?? '?'} (config version ${last?.version ?? '?'})` }
    },
    mapDiagnostic: (d) => unwrapDiagnostic(d, wrapped),
    async close() {
      closed = true
      if (pending) clearTimeout(pending)
      if (retry) clearTimeout(retry)
      const w = watcher
      watcher = undefined
      if (w) await Promise.race([w.cancel().catch(() => {}), new Promise((r) => setTimeout(r, 500))])
      client?.close()
    },
  }
}

/** The push record, if it is one (a hand-written value is ignored rather than trusted). */
function pushMetaOf(text: string): PushMeta | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown>
    const str = (k: string) => (typeof v[k] === 'string' && (v[k] as string).length <= 500 ? { [k]: v[k] as string } : {})
    return { ...str('message'), ...str('user'), ...str('host'), ...str('at') }
  } catch {
    return undefined
  }
}
