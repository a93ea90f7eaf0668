/**
 * Consistent hashing on a ketama-style ring: every endpoint owns virtual nodes in proportion to
 * its weight, points are sorted once, and a request's key is hashed and looked up by binary search
 * (the first point at or after the hash, wrapping). Adding or removing an endpoint moves only the
 * keys that land on its points, so a sticky key (user, tenant, session) keeps its endpoint — and
 * its upstream prompt cache — across reloads that do not touch that endpoint.
 *
 * Ineligible endpoints (ejected, cooling down, breaker open) are skipped by walking clockwise, so
 * their keys spread over the remaining endpoints instead of all moving to one neighbour. When no
 * endpoint is eligible the owner of the key is returned anyway (Envoy's panic mode): the caller's
 * breaker or retry policy decides what to do with it, the LB always answers.
 */
import type { RingHashConfig } from '../../compiler/ir.js'
import type { CompiledEndpoint, LoadBalancer, RequestHead } from '../types.js'
import { fnv1a, mix32 } from '../../shared/string-hash.js'

export type { RingHashConfig }

export interface RingHashOptions {
  /** The hash key of a request (header value, tenant, session id); undefined → random pick. */
  readonly keyOf?: (head: RequestHead) => string | undefined
  readonly eligible?: (endpoint: CompiledEndpoint) => boolean
  readonly random?: () => number
}

export interface RingHashBalancer extends LoadBalancer {
  /** `key` overrides `keyOf(head)` when given. */
  pick(head: RequestHead, key?: string): CompiledEndpoint
  /** Ring size, for explain and tests. */
  readonly size: number
}

/** FNV-1a over UTF-16 code units with murmur3's fmix32 finalizer: fast, and well spread on a ring. */
export function hash32(text: string): number {
  return mix32(fnv1a(text))
}

export function createRingHash(endpoints: readonly CompiledEndpoint[], config: RingHashConfig, opts: RingHashOptions = {}): RingHashBalancer {
  const live = endpoints.filter((e) => e.weight > 0)
  if (live.length === 0) throw new Error('ring hash needs at least one endpoint with a weight above 0')
  const total = live.reduce((a, e) => a + e.weight, 0)
  const lightest = live.reduce((a, e) => Math.min(a, e.weight), Infinity)
  // Every weight unit gets the same number of points, so shares follow weights. The count depends
  // on the lightest weight, not on how many endpoints there are (Envoy scales by the total, which
  // reshuffles every key when one endpoint comes or goes); only the max cap ties it to the set.
  const perUnit = Math.max(1, Math.min(Math.ceil(config.minRingSize / lightest), Math.floor(config.maxRingSize / total)))
  const points: { hash: number; owner: number }[] = []
  live.forEach((e, owner) => {
    // Points are named by URL, not position, so an endpoint keeps its points when others change.
    for (let i = 0; i < e.weight * perUnit; i++) points.push({ hash: hash32(`${e.url}#${i}`), owner })
  })
  points.sort((a, b) => a.hash - b.hash || a.owner - b.owner)
  const hashes = Uint32Array.from(points, (p) => p.hash)
  const owners = Uint32Array.from(points, (p) => p.owner)
  const n = hashes.length
  const { keyOf, eligible, random = Math.random } = opts

  // hot path: binary search for the first point >= h, then walk while owners are ineligible.
  const lookup = (h: number): CompiledEndpoint => {
    let lo = 0
    let hi = n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (hashes[mid] < h) lo = mid + 1
      else hi = mid
    }
    const start = lo === n ? 0 : lo
    const first = live[owners[start]]
    if (!eligible || live.length === 1 || eligible(first)) return first
    let seen: Uint8Array | undefined
    let tried = 1
    for (let i = 1; i < n && tried < live.length; i++) {
      const owner = owners[(start + i) % n]
      const e = live[owner]
      if (e === first) continue
      seen ??= new Uint8Array(live.length)
      if (seen[owner]) continue
      seen[owner] = 1
      tried++
      if (eligible(e)) return e
    }
    return first
  }

  return {
    size: n,
    pick(head, key) {
      const k = key ?? keyOf?.(head)
      return lookup(k === undefined ? (random() * 0x100000000) >>> 0 : hash32(k))
    },
  }
}
