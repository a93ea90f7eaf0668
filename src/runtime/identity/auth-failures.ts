/**
 * Failed authentications counted per source address, and a source that fails too often refused for
 * a while (429 with Retry-After) before its credentials are even looked at: guessing keys or
 * replaying stolen JWTs gets slow, and the log gets one line per block instead of one per guess.
 *
 * Memory is bounded: at most `maxTracked` sources are remembered, least recently failing evicted
 * first. IPv6 sources count per /64, because one host is commonly given a whole /64 and could
 * otherwise rotate through addresses (and through the table) for free.
 *
 * The counts are per worker thread and outlive snapshots (the limiter belongs in the stores, not
 * in a filter instance), so a reload does not unblock anyone.
 *
 * @example
 * const failures = createAuthFailureLimiter({ maxFailures: 10, windowMs: 60_000 })
 * const wait = failures.blockedFor(peer, now)
 * if (wait > 0) return throttled(Math.ceil(wait / 1000))
 * if (!table.verify(key, now).ok) failures.recordFailure(peer, now)
 */
import { isIP } from 'node:net'

export interface AuthFailureLimitConfig {
  /** Failures within `windowMs` that block a source (default 20). */
  readonly maxFailures?: number
  /** The counting window (default 60 s); counts reset when it passes. */
  readonly windowMs?: number
  /** How long a blocked source stays blocked (default: `windowMs`). */
  readonly blockMs?: number
  /** Sources remembered at once (default 10 000); the least recently failing one is forgotten first. */
  readonly maxTracked?: number
}

export interface AuthFailureStats {
  /** Failures recorded since start. */
  readonly failures: number
  /** Requests refused because their source was blocked. */
  readonly refused: number
  /** Sources currently remembered (≤ maxTracked). */
  readonly tracked: number
}

export interface AuthFailureLimiter {
  /** Hot path, before any credential check: ms until `source` may try again; 0 when it may now. */
  blockedFor(source: string, nowMs: number): number
  /** True while no source has a failure on record: nothing can be blocked, so the caller need not look up its source. */
  idle(): boolean
  /** After a refused credential: counts it; returns how long the source is now blocked (0: not blocked). */
  recordFailure(source: string, nowMs: number): number
  stats(): AuthFailureStats
}

interface Entry {
  count: number
  windowStart: number
  blockedUntil: number
}

/** The key a source is counted under: the IPv4 address, or the /64 of an IPv6 one. */
export function sourceKey(address: string): string {
  const zone = address.indexOf('%')
  const a = zone < 0 ? address : address.slice(0, zone)
  if (isIP(a) !== 6) return a
  const groups = expandIPv6(a)
  if (groups === undefined) return a
  // IPv4-mapped (::ffff:a.b.c.d): the IPv4 host it is.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address (`isIP` already said it is one). */
function expandIPv6(a: string): number[] | undefined {
  let text = a
  const tail: number[] = []
  const lastColon = text.lastIndexOf(':')
  if (text.indexOf('.', lastColon) > 0) {
    const v4 = text.slice(lastColon + 1).split('.').map(Number)
    tail.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3])
    text = text.slice(0, lastColon + 1) + '0'
  }
  const [head, rest] = text.split('::')
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : [])
  const left = parse(head)
  const right = parse(rest)
  if (tail.length > 0) (rest === undefined ? left : right).pop()
  const fill = rest === undefined ? 0 : 8 - tail.length - left.length - right.length
  const groups = [...left, ...new Array<number>(Math.max(0, fill)).fill(0), ...right, ...tail]
  return groups.length === 8 ? groups : undefined
}

export function createAuthFailureLimiter(config: AuthFailureLimitConfig = {}): AuthFailureLimiter {
  const maxFailures = config.maxFailures ?? 20
  const windowMs = config.windowMs ?? 60_000
  const blockMs = config.blockMs ?? windowMs
  const maxTracked = config.maxTracked ?? 10_000
  if (!(maxFailures >= 1 && windowMs > 0 && blockMs > 0 && maxTracked >= 1)) {
    throw new Error('auth failure limit: max_failures, window, block and max_tracked must be positive')
  }
  // Map iteration order is insertion order: re-inserting on each failure keeps it least-recent first.
  const entries = new Map<string, Entry>()
  let failures = 0
  let refused = 0

  return {
    blockedFor(source, nowMs) {
      if (entries.size === 0) return 0
      const e = entries.get(sourceKey(source))
      if (e === undefined || e.blockedUntil <= nowMs) return 0
      refused++
      return e.blockedUntil - nowMs
    },
    idle: () => entries.size === 0,
    recordFailure(source, nowMs) {
      failures++
      const key = sourceKey(source)
      let e = entries.get(key)
      if (e === undefined) {
        if (entries.size >= maxTracked) entries.delete(entries.keys().next().value!)
        e = { count: 0, windowStart: nowMs, blockedUntil: 0 }
      } else {
        entries.delete(key)
        if (nowMs - e.windowStart >= windowMs) {
          e.count = 0
          e.windowStart = nowMs
        }
      }
      entries.set(key, e)
      e.count++
      if (e.count >= maxFailures && e.blockedUntil <= nowMs) e.blockedUntil = nowMs + blockMs
      return e.blockedUntil > nowMs ? e.blockedUntil - nowMs : 0
    },
    stats: () => ({ failures, refused, tracked: entries.size }),
  }
}
