/**
 * What the cache keeps for an answer, and how it is encoded (JSON in a Buffer: the memory tier's
 * byte bound counts exactly this, the Redis tier compresses it).
 *
 * A chat or messages answer is kept as the translation hub's canonical turn (text, tool calls,
 * reasoning, stop reason, usage), so it can be replayed to either protocol, streamed or whole. An
 * embeddings or Responses answer is kept as the caller's JSON body, replayed to the same operation only.
 */
import type { CanonicalResponse } from '../providers/translate/canonical.js'

export interface CacheEntry {
  /** Format version: an entry of another version is treated as absent. */
  readonly v: 1
  /** When it was stored (ms since the epoch): its age on a hit. */
  readonly storedAt: number
  /** When it stops being served (ms since the epoch): a copy taken from Redis into memory keeps it. */
  readonly expiresAt: number
  /** The route and tenant that filled it (admin counts and invalidation). */
  readonly route: string
  readonly tenant: string
  readonly answer: TurnAnswer | JsonAnswer
}

export interface TurnAnswer {
  readonly kind: 'turn'
  readonly response: CanonicalResponse
}

export interface JsonAnswer {
  readonly kind: 'json'
  /** The body as the caller received it. */
  readonly body: string
}

export function encodeEntry(e: CacheEntry): Buffer {
  const b = Buffer.from(JSON.stringify(e))
  decoded.set(b, e)
  return b
}

/**
 * Entries decoded once per stored Buffer: a hit on the memory tier gets the same Buffer again, and
 * parsing it per hit would be most of the hit's cost. Weak: an entry the LRU drops is forgotten.
 */
const decoded = new WeakMap<Buffer, CacheEntry>()

/** undefined for anything that is not an entry of this version (a corrupt or foreign value). */
export function decodeEntry(b: Buffer): CacheEntry | undefined {
  const known = decoded.get(b)
  if (known !== undefined) return known
  const e = parseEntry(b)
  if (e !== undefined) decoded.set(b, e)
  return e
}

function parseEntry(b: Buffer): CacheEntry | undefined {
  try {
    const e = JSON.parse(b.toString('utf8')) as CacheEntry
    if (e?.v !== 1 || typeof e.storedAt !== 'number' || typeof e.expiresAt !== 'number' || (e.answer?.kind !== 'turn' && e.answer?.kind !== 'json')) return undefined
    return e
  } catch {
    return undefined
  }
}

/** Cheap reads for admin invalidation, without decoding every entry's answer. */
export function entryOwner(b: Buffer): { route: string; tenant: string } | undefined {
  const e = decodeEntry(b)
  return e === undefined ? undefined : { route: e.route, tenant: e.tenant }
}
