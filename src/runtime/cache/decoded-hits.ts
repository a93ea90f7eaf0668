/**
 * Memory-tier lookups that decode an entry once per record, not once per hit. A hit copies the
 * record out of the shared buffer (memory-tier.ts) and reads it (JSON parse, validation: entry.ts);
 * the entries decoded last are kept here, by key and record sequence number, so the next hit on the
 * same record copies and parses nothing. One per cache filter instance (a reload starts afresh);
 * bounded by count, oldest dropped first: the hot entries.
 */
import { readEntry, type CacheEntry } from './entry.js'
import { SAME_RECORD, type MemoryTier } from './memory-tier.js'

const MAX_DECODED = 512

export class DecodedHits {
  private readonly decoded = new Map<string, { record: number; entry: CacheEntry }>()

  constructor(private readonly memory: MemoryTier) {}

  /**
   * The entry under `key`, read and validated, if it is a complete success and not expired (one
   * that does not validate is deleted: never served, so not kept).
   */
  lookup(key: string): CacheEntry | undefined {
    const known = this.decoded.get(key)
    const got = this.memory.read(key, known === undefined ? -1 : known.record)
    if (got === undefined) {
      if (known !== undefined) this.decoded.delete(key)
      return undefined
    }
    const entry = got === SAME_RECORD ? known!.entry : readEntry(got)
    if (entry === undefined || entry.expiresAt <= Date.now()) {
      this.memory.delete(key)
      this.decoded.delete(key)
      return undefined
    }
    if (known !== undefined) {
      known.record = this.memory.lastRead
      known.entry = entry
    } else {
      if (this.decoded.size >= MAX_DECODED) this.decoded.delete(this.decoded.keys().next().value!)
      this.decoded.set(key, { record: this.memory.lastRead, entry })
    }
    return entry
  }
}
