/**
 * What the cache keeps for an answer, and how it is encoded: a small binary header (format
 * version, the operation and whether it was streamed, when stored and until when served, the route
 * and tenant that filled it), then the answer's bytes exactly as the client received them. The
 * memory tier's byte bound counts exactly this; the Redis tier compresses it.
 *
 * Storing the bytes as they came keeps the miss path cheap: nothing is parsed, translated or
 * re-serialized when an answer is stored. The answer is read — validated as a complete success
 * (capture.ts) and turned into the translation hub's canonical turn, so it can be replayed to
 * either protocol, streamed or whole — the first time an entry is served: once per Buffer read
 * from Redis or handed to single-flight waiters (a WeakMap keeps the result), once per memory
 * record (cache-store.ts keeps the hot ones decoded). An entry that does not validate is never
 * served: its lookup is a miss and the caller deletes it.
 */
import { answerOf, type JsonAnswer, type TurnAnswer } from './capture.js'
import { HEAD, entryMeta, type EntryMeta } from './entry-header.js'
export { encodeEntry, entryMeta, entryOwner, type EntryDraft, type EntryMeta } from './entry-header.js'
export type { JsonAnswer, TurnAnswer } from './capture.js'

export interface CacheEntry extends EntryMeta {
  readonly answer: TurnAnswer | JsonAnswer
}

/** Entries read once per stored Buffer (null: it did not validate). Weak: an entry the LRU drops is forgotten. */
const decoded = new WeakMap<Buffer, CacheEntry | null>()

/** The entry, validated and read; undefined for an answer that is not a complete success, or anything that is not an entry of this version. */
export function decodeEntry(b: Buffer): CacheEntry | undefined {
  const known = decoded.get(b)
  if (known !== undefined) return known ?? undefined
  const e = readEntry(b) ?? null
  decoded.set(b, e)
  return e ?? undefined
}

/** decodeEntry without remembering the result (for a copy read once). */
export function readEntry(b: Buffer): CacheEntry | undefined {
  const meta = entryMeta(b)
  const answer = meta === undefined ? undefined : answerOf(meta.op, meta.streamed, b.subarray(HEAD + b.readUInt16LE(20) + b.readUInt16LE(22)))
  return answer === undefined ? undefined : { ...meta!, answer }
}

