/**
 * A route's cache policy, compiled once from the filter's config (schemas/filters/cache.schema.json),
 * and the per-request decision: look up, refresh (skip the lookup, store the answer), or bypass
 * (neither) — from the operation, the request's determinism and the caller's own controls.
 */
import { durationMs, sizeBytes } from '../../shared/units.js'
import type { CacheOperation } from './key.js'

/** As in schemas/filters/cache.schema.json (validated, defaults filled by the compiler). */
export interface CacheConfig {
  ttl?: string
  max_entry_size?: string
  operations?: CacheOperation[]
  only_when?: 'deterministic' | 'always'
  namespace?: string
  ignored_parameters?: string[]
  caller_controls?: boolean
  count_hit_tokens?: boolean
  memory?: { max_bytes?: string }
  admission?: Admission
  single_flight?: { enabled?: boolean; wait?: string; max_waiters?: number; across_hosts?: boolean; lock_ttl?: string; poll?: string }
  redis?: { enabled?: boolean }
  semantic?: import('./semantic/semantic-policy.js').SemanticConfig
}

/**
 * When a miss's answer is stored. `always`: every complete success (the oldest entries make room).
 * `seen_twice_when_full`: the same while the memory tier has room; at its bound, only a key asked
 * for before (recently): a one-off question then costs no capture and no store, and evicts nothing.
 */
export type Admission = 'always' | 'seen_twice_when_full'

export interface CachePolicy {
  readonly ttlMs: number
  readonly maxEntryBytes: number
  readonly operations: ReadonlySet<CacheOperation>
  readonly onlyDeterministic: boolean
  readonly ignored: ReadonlySet<string>
  readonly callerControls: boolean
  /** A hit reports the original usage (input marked cached): token limits and budgets count it. */
  readonly countHitTokens: boolean
  readonly memoryBytes: number
  /** At the memory tier's bound, store a miss's answer only on the key's second sighting (memory-tier.ts admits()). */
  readonly admitSeenTwice: boolean
  readonly singleFlight: SingleFlightPolicy | undefined
  /** Entries also go to (and come from) Redis, through the top-level redis block. */
  readonly redis: boolean
}

export interface SingleFlightPolicy {
  readonly waitMs: number
  readonly maxWaiters: number
  /** With the Redis tier: one upstream call across hosts, through a Redis lock (undefined: per worker only). */
  readonly lock: { readonly ttlMs: number; readonly pollMs: number } | undefined
}

/** What the filter must not forward upstream: the caller's instruction to the cache. */
export const TTL_HEADER = 'x-switchyard-cache-ttl'

export const DEFAULT_IGNORED = ['stream', 'stream_options', 'user', 'metadata', 'store', 'service_tier', 'prompt_cache_key', 'safety_identifier']

/** The memory tier's size a cache filter's config asks for (also read by the main thread: control/cache-buffers.ts). */
export function memoryBytesOf(c: Pick<CacheConfig, 'memory'>): number {
  return sizeBytes(c.memory?.max_bytes ?? '64mb')
}

export function compilePolicy(c: CacheConfig): CachePolicy {
  const ttlMs = durationMs(c.ttl ?? '1h')
  if (!(ttlMs > 0)) throw new Error('ttl must be greater than 0')
  const maxEntryBytes = sizeBytes(c.max_entry_size ?? '1mb')
  const memoryBytes = memoryBytesOf(c)
  if (maxEntryBytes > memoryBytes) throw new Error(`max_entry_size (${c.max_entry_size}) is larger than memory.max_bytes (${c.memory?.max_bytes ?? '64mb'})`)
  const sf = c.single_flight
  const redis = c.redis?.enabled === true
  const lock = redis && sf?.across_hosts !== false ? { ttlMs: durationMs(sf?.lock_ttl ?? '10s'), pollMs: durationMs(sf?.poll ?? '25ms') } : undefined
  if (lock !== undefined && !(lock.ttlMs >= 100)) throw new Error('single_flight.lock_ttl must be at least 100ms')
  if (lock !== undefined && !(lock.pollMs >= 1)) throw new Error('single_flight.poll must be at least 1ms')
  return {
    ttlMs,
    maxEntryBytes,
    operations: new Set(c.operations ?? ['chat', 'messages', 'embeddings']),
    onlyDeterministic: (c.only_when ?? 'deterministic') === 'deterministic',
    ignored: new Set(c.ignored_parameters ?? DEFAULT_IGNORED),
    callerControls: c.caller_controls !== false,
    countHitTokens: c.count_hit_tokens === true,
    memoryBytes,
    admitSeenTwice: (c.admission ?? 'seen_twice_when_full') === 'seen_twice_when_full',
    singleFlight: sf?.enabled === false ? undefined : { waitMs: durationMs(sf?.wait ?? '30s'), maxWaiters: sf?.max_waiters ?? 1000, lock },
    redis,
  }
}

/** lookup: answer from the cache if it can, else store; refresh: skip the lookup, store; bypass: neither. */
export type CacheMode = 'lookup' | 'refresh' | 'bypass'

export interface CallerDecision {
  readonly mode: CacheMode
  /** The caller's x-switchyard-cache-ttl in ms: no older entry is served, none is stored longer. */
  readonly ttlCeilingMs: number | undefined
}

const LOOKUP: CallerDecision = Object.freeze({ mode: 'lookup', ttlCeilingMs: undefined })
const REFRESH: CallerDecision = Object.freeze({ mode: 'refresh', ttlCeilingMs: undefined })
const BYPASS: CallerDecision = Object.freeze({ mode: 'bypass', ttlCeilingMs: undefined })

/** `Cache-Control: no-store` bypasses, `no-cache` refreshes; `x-switchyard-cache-ttl: <seconds>` caps the age. */
export function callerDecision(headers: Record<string, string>): CallerDecision {
  const cc = headers['cache-control']
  let d = LOOKUP
  if (cc !== undefined) {
    const v = cc.toLowerCase()
    if (v.includes('no-store')) return BYPASS
    if (v.includes('no-cache')) d = REFRESH
  }
  const ttl = headers[TTL_HEADER]
  if (ttl === undefined) return d
  const s = Number(ttl)
  if (!(Number.isFinite(s) && s >= 0)) return d
  if (s === 0) return BYPASS
  return { mode: d.mode, ttlCeilingMs: s * 1000 }
}

/**
 * Whether the request looks deterministic: temperature 0, or a seed. Embeddings always are. Chat
 * answers with several choices or log-probabilities are never kept (an entry holds one choice).
 */
export function cacheable(op: CacheOperation, body: Record<string, unknown>, onlyDeterministic: boolean): boolean {
  if (op === 'chat' || op === 'messages') {
    const n = body.n
    if ((typeof n === 'number' && n > 1) || body.logprobs === true) return false
  }
  if (!onlyDeterministic || op === 'embeddings') return true
  return body.temperature === 0 || typeof body.seed === 'number'
}
