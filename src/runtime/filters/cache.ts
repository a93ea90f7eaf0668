/**
 * `cache` filter: answers repeated requests from a response cache without calling a provider.
 * Config: schemas/filters/cache.schema.json; the parts live in src/runtime/cache/.
 *
 * Per request (onRequest): the policy decides lookup / refresh / bypass (operation, determinism,
 * the caller's Cache-Control and x-switchyard-cache-ttl); the key is the hash of the canonical
 * request plus tenant (the listener's name without identity) and namespace. A hit is replayed as a
 * local reply in the caller's protocol, streamed or whole. A miss either leads (goes upstream) or,
 * when an identical request is already upstream in this worker, waits for that one's answer
 * (single flight, bounded). A leader's answer is captured as it reaches the client (onChunk) and,
 * when the request ended as a complete success, stored (onComplete) and handed to its waiters.
 * Admission (`admission: seen_twice_when_full`, memory tier only): when the tier is at its bound, a
 * miss whose key was not seen recently is not captured at all (counted `admissionRejected`).
 * With `semantic` on, an exact miss of a chat or messages request first asks the semantic tier
 * (cache/semantic/): the nearest stored prompt of the same scope answers at or above the
 * threshold (`x-switchyard-cache: semantic-hit`, `x-switchyard-cache-similarity`).
 *
 * Place it after rate_limit in a listener's filters: a hit then still counts against request
 * limits; it carries no usage, so it costs no tokens and no budget.
 *
 * @example
 * filters:
 *   - name: answers
 *     type: cache
 *     config: { ttl: 10m, max_entry_size: 256kb, memory: { max_bytes: 128mb } }
 * listeners:
 *   - { name: public, port: 8080, route_table: main, filters: [answers] }
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Filter, FilterDeps, LocalReply, RequestContext } from '../types.js'
import { operationOf } from '../providers/caller.js'
import { canonicalJson, canonicalRequest, isCacheOperation, requestKey, type CacheOperation } from '../cache/key.js'
import { cacheable, callerDecision, compilePolicy, TTL_HEADER, type CacheConfig, type CacheMode, type SingleFlightPolicy } from '../cache/policy.js'
import { decodeEntry, encodeEntry, type CacheEntry, type EntryDraft } from '../cache/entry.js'
import { DecodedHits } from '../cache/decoded-hits.js'
import { replay, type ReplayRequest } from '../cache/replay.js'
import type { CacheStore, RouteCounts } from '../cache/cache-store.js'
import { Flight } from '../cache/single-flight.js'
import { RedisTier } from '../cache/redis-tier.js'
import { compileSemanticPolicy } from '../cache/semantic/semantic-policy.js'
import { SemanticCache, type SemanticLookup } from '../cache/semantic/semantic-cache.js'
export type { CacheConfig } from '../cache/policy.js'

/** One request's cache state (ctx.filterState), from onRequest to onComplete. */
interface Pending {
  readonly key: string
  readonly op: CacheOperation
  readonly mode: CacheMode
  readonly tenant: string
  readonly ttlMs: number
  /** This request leads a single flight: settle it when the request ends. */
  flight: Flight | undefined
  /** The answer's bytes so far (undefined: not captured — not admitted, outgrew max_entry_size, not a 2xx). */
  parts: Buffer[] | undefined
  /**
   * Not admitted (the memory tier is at its bound and the key was not seen before), but captured
   * after all if a waiter joins this flight before the answer's first chunk: the waiter is the key's
   * second sighting, and needs the answer.
   */
  deferred: boolean
  size: number
  /** The semantic tier's view of the request (question, vector once embedded), when the route has one. */
  semantic?: SemanticLookup
  /** The owner's generations at the Redis lookup (the entry is stored with them); undefined: read at store time. */
  gens: string | undefined
  /** This request holds the cross-host single-flight lock (its token), renewed by `renewal`. */
  lock: string | undefined
  renewal: NodeJS.Timeout | undefined
  /** This request holds the flight marker in the workers' shared memory tier (its key there). */
  marker?: string
}

/**
 * Marks a key's flight in the shared memory tier: `~` and the key (keys are base64url, so never
 * one of them). While one worker's leader holds it, the other workers' leaders wait for its entry.
 */
const FLIGHT_MARK = '~'
/** How often a worker waiting on another worker's flight looks for the entry (a lookup in shared memory). */
const WORKER_POLL_MS = 5

/** A request that is not cached at all, but is answered `x-switchyard-cache: bypass`. */
const BYPASSED = Object.freeze({ bypass: true as const })
/** A request answered from the cache: nothing to capture or store. */
const SERVED = Object.freeze({ served: true as const })
/** A request's entry in ctx.filterState: compared by identity on the hot path (no `in` check per hook). */
type RequestState = Pending | typeof BYPASSED | typeof SERVED

let instances = 0

export function create(config: CacheConfig, deps: FilterDeps): Filter {
  const policy = compilePolicy(config)
  const store: CacheStore = deps.stores.responseCache(policy.memoryBytes)
  const memory = new DecodedHits(store.memory)
  // Sibling workers to share a flight with, through the memory tier they share.
  const acrossWorkers = store.memory.shared && deps.stores.workers > 1
  // A changed config starts its namespace afresh: the config's own hash is part of every key.
  const namespace = `${config.namespace ?? 'default'}#${createHash('sha256').update(canonicalJson(config)).digest('base64url').slice(0, 12)}`
  if (policy.redis && deps.redis === undefined) throw new Error('redis: { enabled: true } needs the top-level redis block')
  const purgeAll = (by: { route?: string; tenant?: string }) => {
    for (const c of deps.stores.responseCaches?.() ?? [store]) c.purge(by)
  }
  const shared = policy.redis && deps.redis !== undefined ? new RedisTier(deps.stores.redis(deps.redis), deps.redis.keyPrefix, store.redis, purgeAll) : undefined
  const semantic = createSemantic(config, deps, namespace, shared, store)
  // Admission decides on the memory tier alone: with Redis (its own bound) or the semantic tier
  // (whose index needs every answer) every complete success is stored, as with `always`.
  const admitSeenTwice = policy.admitSeenTwice && shared === undefined && semantic === undefined
  const state = `cache#${instances++}`
  const countsOf = new Map<string, RouteCounts>()
  // The last route's counts: a filter instance mostly serves the same few routes in a row.
  let lastRoute: string | undefined
  let lastCounts: RouteCounts | undefined
  const counts = (ctx: RequestContext): RouteCounts => {
    const name = ctx.route?.name ?? '-'
    if (name === lastRoute) return lastCounts!
    let c = countsOf.get(name)
    if (c === undefined) countsOf.set(name, (c = store.routeCounts(name)))
    lastRoute = name
    return (lastCounts = c)
  }
  // The tenant of a request without identity is its listener's: the string made once per listener, not per request.
  let lastListener: RequestContext['listener'] | undefined
  let lastListenerTenant = ''
  const listenerTenant = (ctx: RequestContext): string => {
    if (ctx.listener !== lastListener) {
      lastListener = ctx.listener
      lastListenerTenant = `listener:${ctx.listener.name}`
    }
    return lastListenerTenant
  }

  const hitReply = (ctx: RequestContext, op: CacheOperation, buf: Buffer | undefined, ceilingMs: number | undefined, status = 'hit'): LocalReply | undefined =>
    buf === undefined ? undefined : entryReply(ctx, op, decodeEntry(buf), ceilingMs, status)

  const entryReply = (ctx: RequestContext, op: CacheOperation, entry: CacheEntry | undefined, ceilingMs: number | undefined, status = 'hit'): LocalReply | undefined => {
    if (entry === undefined) return undefined
    const ageMs = Date.now() - entry.storedAt
    if (ceilingMs !== undefined && ageMs > ceilingMs) return undefined
    // Else a hit carries no usage: a rate_limit filter before the cache counts it as a request only.
    if (policy.countHitTokens && entry.answer.kind === 'turn') ctx.usage = { ...entry.answer.response.usage, cachedInputTokens: entry.answer.response.usage.inputTokens }
    return replay(entry, replayRequestOf(ctx, op), status, Math.max(0, Math.floor(ageMs / 1000)))
  }

  const lead = (ctx: RequestContext, p: Pending): undefined => {
    ;(ctx.filterState ??= {})[state] = p
    counts(ctx)[p.mode === 'refresh' ? 'refresh' : 'miss']++
    return undefined
  }

  return {
    name: 'cache',
    onRequest(ctx) {
      const op = operationOf(ctx.head.path)
      if (!isCacheOperation(op) || !policy.operations.has(op) || ctx.head.method !== 'POST') return undefined
      const decision = policy.callerControls ? callerDecision(ctx.head.headers) : { mode: 'lookup' as const, ttlCeilingMs: undefined }
      if (ctx.headers[TTL_HEADER] !== undefined) delete ctx.headers[TTL_HEADER]
      const body = decision.mode === 'bypass' ? undefined : canonicalRequest(op, ctx.json, policy.ignored)
      if (body === undefined || !cacheable(op, body, policy.onlyDeterministic)) return bypass(ctx)
      const tenant = ctx.head.identity?.tenant ?? listenerTenant(ctx)
      const parts = { namespace, tenant, op, cluster: ctx.cluster?.name ?? '', model: servedModel(ctx), body }
      const key = requestKey(parts)
      const ttlMs = decision.ttlCeilingMs === undefined ? policy.ttlMs : Math.min(policy.ttlMs, decision.ttlCeilingMs)
      // No parts array yet: a hit needs none, and a miss that is not admitted gets none.
      const pending: Pending = { key, op, mode: decision.mode, tenant, ttlMs, flight: undefined, parts: undefined, deferred: false, size: 0, gens: undefined, lock: undefined, renewal: undefined }
      if (semantic !== undefined && (op === 'chat' || op === 'messages')) pending.semantic = semantic.prepare(parts)
      // A refresh is the caller asking for the answer to be stored: always admitted.
      if (decision.mode === 'refresh') {
        pending.parts = []
        return lead(ctx, pending)
      }
      // A complete success that has not expired (else none, and a broken one is deleted).
      const hit = entryReply(ctx, op, memory.lookup(key), decision.ttlCeilingMs)
      if (hit !== undefined) return served(ctx, hit)
      if (!admitSeenTwice || store.memory.admits(key)) pending.parts = []
      else {
        pending.deferred = true
        counts(ctx).admissionRejected++
      }
      if (shared === undefined) return pending.semantic ? similar(ctx, pending, decision.ttlCeilingMs) : missed(ctx, pending, decision.ttlCeilingMs)
      return shared.get(key, ctx.route?.name ?? '-', tenant).then((look) => {
        if (ctx.finished) return undefined
        pending.gens = look.gens
        const reply = hitReply(ctx, op, look.entry, decision.ttlCeilingMs)
        if (reply === undefined) {
          if (look.entry !== undefined && decodeEntry(look.entry) === undefined) shared.drop(key)
          return pending.semantic ? similar(ctx, pending, decision.ttlCeilingMs) : missed(ctx, pending, decision.ttlCeilingMs)
        }
        remember(key, look.entry!)
        return served(ctx, reply)
      })
    },
    onResponse(ctx) {
      const s = ctx.filterState?.[state] as RequestState | undefined
      if (s === undefined || s === SERVED) return
      if (s === BYPASSED) return void ctx.responseHeaders.push(['x-switchyard-cache', 'bypass'])
      const p = s as Pending
      ctx.responseHeaders.push(['x-switchyard-cache', p.mode === 'refresh' ? 'refresh' : 'miss'])
      if (ctx.status < 200 || ctx.status >= 300) {
        p.parts = undefined
        p.deferred = false
      }
    },
    onChunk(ctx, chunk) {
      const s = ctx.filterState?.[state] as RequestState | undefined
      if (s === undefined || s === BYPASSED || s === SERVED) return
      const p = s as Pending
      if (p.parts === undefined) {
        if (!p.deferred) return
        // The answer begins: capture it now only for a waiter that joined (after this, too late for a whole answer).
        p.deferred = false
        if (p.flight?.waiters === undefined) return
        p.parts = []
      }
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)
      p.size += b.length
      if (p.size > policy.maxEntryBytes) p.parts = undefined
      else p.parts.push(b)
    },
    onComplete(ctx) {
      const s = ctx.filterState?.[state] as RequestState | undefined
      if (s === undefined || s === BYPASSED || s === SERVED) return
      const p = s as Pending
      let buf: Buffer | undefined
      let written: Promise<void> | undefined
      try {
        const draft = storable(ctx, p)
        // Redis, this flight's waiters and the semantic tier's siblings need the entry as a Buffer of
        // its own: then it is encoded once and copied in; else it is encoded straight into the tier.
        if (draft !== undefined && (shared !== undefined || p.semantic !== undefined || p.flight?.waiters !== undefined)) {
          buf = encodeEntry(draft)
          if (buf !== undefined && buf.length > policy.maxEntryBytes) buf = undefined
          if (buf !== undefined) {
            store.memory.set(p.key, buf)
            written = shared?.set(p.key, buf, p.ttlMs, ctx.route?.name ?? '-', p.tenant, p.gens)
            counts(ctx).stored++
            if (p.semantic !== undefined) semantic?.remember(ctx, p.semantic, p.key, Date.now() + p.ttlMs, buf)
          }
        } else if (draft !== undefined && store.putEntry(p.key, draft, policy.maxEntryBytes)) counts(ctx).stored++
      } finally {
        if (p.flight !== undefined) store.flights.settle(p.flight, buf)
        // Released once the entry is in Redis: a waiter that sees no lock then finds the entry.
        if (p.lock !== undefined) releaseLock(p, written)
        // Released after the entry is in memory, for the same reason.
        if (p.marker !== undefined) store.memory.delete(p.marker)
      }
    },
  }

  /** Not in any tier: lead the request upstream, or wait for the identical one already there. */
  function missed(ctx: RequestContext, pending: Pending, ceilingMs: number | undefined): LocalReply | undefined | Promise<LocalReply | undefined> {
    const sf = policy.singleFlight
    if (sf === undefined) return lead(ctx, pending)
    const joined = store.flights.join(pending.key, sf.waitMs, sf.maxWaiters)
    if (joined instanceof Flight) {
      pending.flight = joined
      // Redis answered the lookup: lead across hosts too (else across this process's workers, through their shared memory tier).
      if (shared !== undefined && sf.lock !== undefined && pending.gens !== undefined) return leadAcrossHosts(ctx, pending, ceilingMs, sf, shared)
      if (acrossWorkers) return leadAcrossWorkers(ctx, pending, ceilingMs, sf)
      return lead(ctx, pending)
    }
    return joined.then((buf) => {
      if (ctx.finished) return undefined
      const reply = hitReply(ctx, pending.op, buf, ceilingMs)
      // The leader stored nothing, or the wait ran out: this one goes upstream itself (and may store).
      return reply !== undefined ? served(ctx, reply) : lead(ctx, pending)
    })
  }

  /**
   * No entry under this exact key: the nearest stored prompt of the same scope may answer (the
   * semantic tier), else the miss goes on as any miss. The embedding call never fails the request.
   */
  async function similar(ctx: RequestContext, pending: Pending, ceilingMs: number | undefined): Promise<LocalReply | undefined> {
    const near = await semantic!.lookup(ctx, pending.semantic!)
    if (ctx.finished) return undefined
    if (typeof near === 'string') counts(ctx)[SEMANTIC_COUNT[near]]++
    else if (near !== undefined) {
      const local = memory.lookup(near.key)
      const buf = local !== undefined ? undefined : shared === undefined ? undefined : (await shared.get(near.key, ctx.route?.name ?? '-', pending.tenant)).entry
      if (ctx.finished) return undefined
      const reply = local !== undefined ? entryReply(ctx, pending.op, local, ceilingMs, 'semantic-hit') : hitReply(ctx, pending.op, buf, ceilingMs, 'semantic-hit')
      if (reply !== undefined) {
        semantic!.hit()
        return served(ctx, { ...reply, headers: [...reply.headers, [SIMILARITY_HEADER, near.similarity.toFixed(4)]] }, 'semanticHit')
      }
      if (local === undefined && buf === undefined) semantic!.forget(near)
      // Near enough, but its answer is gone or too old for this caller: a semantic miss.
      counts(ctx).semanticMiss++
    }
    return missed(ctx, pending, ceilingMs)
  }

  /**
   * This worker's flight leader takes the Redis lock and goes upstream, or — another worker or
   * host holding it — polls Redis for that one's entry and answers (and settles its own flight's
   * waiters) from it. It goes upstream after all when the lock is gone without an entry (the
   * holder failed or died: it takes the lock first), when `wait` has passed, or when Redis fails.
   */
  async function leadAcrossHosts(ctx: RequestContext, p: Pending, ceilingMs: number | undefined, sf: SingleFlightPolicy, tier: RedisTier): Promise<LocalReply | undefined> {
    const lock = sf.lock!
    const token = lockToken()
    const deadline = Date.now() + sf.waitMs
    const route = ctx.route?.name ?? '-'
    let waited = false
    for (;;) {
      const got = await tier.tryLock(p.key, token, lock.ttlMs)
      if (ctx.finished) return abandon(p)
      if (got === true) {
        holdLock(p, token, tier, lock.ttlMs)
        // The holder may have stored its entry and let go between this loop's last look and this lock.
        if (waited) {
          const reply = await servedAfterLock(ctx, p, ceilingMs, tier, route)
          if (ctx.finished) {
            if (p.lock !== undefined) releaseLock(p, undefined)
            return abandon(p)
          }
          if (reply !== undefined) return reply
        }
      }
      if (got !== false) return lead(ctx, p)
      if (!waited) {
        waited = true
        store.redis.lockWaits++
      }
      if (Date.now() + lock.pollMs > deadline) return lead(ctx, p)
      await sleep(lock.pollMs)
      const look = await tier.get(p.key, route, p.tenant)
      if (ctx.finished) return abandon(p)
      if (look.gens === undefined) return lead(ctx, p)
      p.gens = look.gens
      if (look.entry === undefined) continue
      const reply = hitReply(ctx, p.op, look.entry, ceilingMs)
      // Too old for this caller's x-switchyard-cache-ttl: ask afresh (its waiters get this answer).
      if (reply === undefined) return lead(ctx, p)
      remember(p.key, look.entry)
      store.flights.settle(p.flight!, look.entry)
      store.redis.lockServed++
      return served(ctx, reply)
    }
  }

  /**
   * This worker's flight leader takes the key's marker in the shared memory tier and goes upstream,
   * or — another worker's leader holding it — looks for that one's entry every WORKER_POLL_MS and
   * answers (and settles its own flight's waiters) from it. It goes upstream after all when the
   * marker is gone without an entry (it takes it first) or when `wait` has passed.
   */
  async function leadAcrossWorkers(ctx: RequestContext, p: Pending, ceilingMs: number | undefined, sf: SingleFlightPolicy): Promise<LocalReply | undefined> {
    const marker = FLIGHT_MARK + p.key
    const deadline = Date.now() + sf.waitMs
    for (let waited = false; ; waited = true) {
      if (store.memory.claim(marker, deadline)) {
        p.marker = marker
        // The holder may have stored its entry and let go between the last look and this claim.
        if (waited) {
          const reply = servedFromMemory(ctx, p, ceilingMs)
          if (reply !== undefined) return reply
        }
        return lead(ctx, p)
      }
      if (Date.now() + WORKER_POLL_MS > deadline) return lead(ctx, p)
      await sleep(WORKER_POLL_MS)
      if (ctx.finished) return abandon(p)
      const reply = servedFromMemory(ctx, p, ceilingMs)
      if (reply !== undefined) return reply
    }
  }

  /** The entry another worker's leader stored, as this flight's answer (its waiters get it too); undefined: not there (yet). */
  function servedFromMemory(ctx: RequestContext, p: Pending, ceilingMs: number | undefined): LocalReply | undefined {
    const buf = store.memory.get(p.key)
    const reply = hitReply(ctx, p.op, buf, ceilingMs)
    if (reply === undefined) return undefined
    if (p.marker !== undefined) {
      store.memory.delete(p.marker)
      p.marker = undefined
    }
    store.flights.settle(p.flight!, buf)
    return served(ctx, reply)
  }

  /** After a wait, the lock just taken: the entry its previous holder stored, served (and the lock let go), if it is there. */
  async function servedAfterLock(ctx: RequestContext, p: Pending, ceilingMs: number | undefined, tier: RedisTier, route: string): Promise<LocalReply | undefined> {
    const look = await tier.get(p.key, route, p.tenant)
    if (look.entry === undefined || look.gens === undefined || ctx.finished) return undefined
    const reply = hitReply(ctx, p.op, look.entry, ceilingMs)
    if (reply === undefined) return undefined
    p.gens = look.gens
    releaseLock(p, undefined)
    remember(p.key, look.entry)
    store.flights.settle(p.flight!, look.entry)
    store.redis.lockServed++
    return served(ctx, reply)
  }

  /** The client left while its flight waited on another host: this worker's waiters go upstream themselves. */
  function abandon(p: Pending): undefined {
    if (p.flight !== undefined) store.flights.settle(p.flight, undefined)
    return undefined
  }

  function holdLock(p: Pending, token: string, tier: RedisTier, ttlMs: number): void {
    p.lock = token
    p.renewal = setInterval(() => tier.renew(p.key, token, ttlMs), Math.max(50, Math.floor(ttlMs / 3)))
    p.renewal.unref()
  }

  function releaseLock(p: Pending, written: Promise<void> | undefined): void {
    clearInterval(p.renewal)
    const token = p.lock!
    p.lock = undefined
    if (written === undefined) void shared!.unlock(p.key, token)
    else void written.then(() => shared!.unlock(p.key, token))
  }

  /** An entry read from Redis is kept in this worker's memory too, until its own expiry. */
  function remember(key: string, buf: Buffer): void {
    if (decodeEntry(buf)!.expiresAt > Date.now()) store.memory.set(key, buf)
  }

  function bypass(ctx: RequestContext): undefined {
    ;(ctx.filterState ??= {})[state] = BYPASSED
    counts(ctx).bypass++
    return undefined
  }

  function served(ctx: RequestContext, reply: LocalReply, outcome: 'hit' | 'semanticHit' = 'hit'): LocalReply {
    ;(ctx.filterState ??= {})[state] = SERVED
    counts(ctx)[outcome]++
    return reply
  }

  /** The entry to store when the request ended as a complete success, else undefined. */
  function storable(ctx: RequestContext, p: Pending): EntryDraft | undefined {
    const parts = p.parts
    if (parts === undefined || parts.length === 0 || ctx.status < 200 || ctx.status >= 300) return undefined
    // A broken stream resumed elsewhere is not one clean answer. (A client that went away needs no
    // check here: the bytes captured then lack their end, and downstream.aborted is also set by a normal end.)
    if (ctx.attempt?.continuation !== undefined) return undefined
    // Kept as the bytes the client got; whether they are a complete success is read on the first hit (entry.ts).
    const streamed = contentTypeOf(ctx).startsWith('text/event-stream')
    const now = Date.now()
    return { v: 2, storedAt: now, expiresAt: now + p.ttlMs, route: ctx.route?.name ?? '-', tenant: p.tenant, op: p.op, streamed, body: parts, size: p.size }
  }
}

/** The route count of each way a semantic lookup can come back empty. */
const SEMANTIC_COUNT = { miss: 'semanticMiss', timeout: 'embedTimeout', error: 'embedError' } as const

/** Says how close the stored prompt that answered a `semantic-hit` was (cosine similarity, 4 decimals). */
const SIMILARITY_HEADER = 'x-switchyard-cache-similarity'

/** The semantic tier when the config turns it on (`semantic: { enabled: true, cluster }`). */
function createSemantic(config: CacheConfig, deps: FilterDeps, namespace: string, shared: RedisTier | undefined, store: CacheStore): SemanticCache | undefined {
  const policy = compileSemanticPolicy(config.semantic, deps.clusterNames)
  if (policy === undefined) return undefined
  const redis = shared !== undefined && deps.redis !== undefined ? { connection: deps.stores.redis(deps.redis), prefix: deps.redis.keyPrefix } : undefined
  return new SemanticCache(policy, { stores: deps.stores, namespace, memory: store.memory, ...(redis && { redis }) })
}

/** Unique per lock attempt: a random prefix per process, then a counter. */
const LOCK_PREFIX = randomBytes(9).toString('base64url')
let locks = 0
function lockToken(): string {
  return `${LOCK_PREFIX}.${(locks++).toString(36)}`
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** The model the upstream will be asked for: the fallback's or route's rewrite, then the cluster's model_map. */
function servedModel(ctx: RequestContext): string {
  const route = ctx.route
  const action = route?.action
  let model = (action?.kind === 'fallback' ? action.clusters[0].modelRewrite : undefined) ?? route?.modelRewrite ?? ctx.head.model ?? ''
  const map = ctx.cluster?.modelMap
  if (map !== undefined && Object.hasOwn(map, model)) model = map[model]
  return model
}

/** The body's format follows the operation (an Anthropic listener may serve chat completions too). */
function replayRequestOf(ctx: RequestContext, op: CacheOperation): ReplayRequest {
  const json = ctx.json
  return {
    protocol: op === 'messages' ? 'anthropic' : 'openai',
    stream: json?.stream === true,
    includeUsage: json?.stream_options?.include_usage === true,
  }
}

function contentTypeOf(ctx: RequestContext): string {
  const h = ctx.responseHeaders
  for (let i = 0; i < h.length; i++) if (h[i][0].toLowerCase() === 'content-type') return h[i][1]
  return ''
}
