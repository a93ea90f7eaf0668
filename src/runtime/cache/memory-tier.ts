/**
 * The in-process tier: entries kept in one SharedArrayBuffer, bounded by its bytes, shared by every
 * worker thread of the process (the main thread allocates one per `memory.max_bytes` and hands it
 * to each worker with the snapshot; without one — a dry build, a unit test — the tier makes its own).
 *
 * Why not an LRU of Buffers (lru-cache, the first version): every stored answer was a Buffer and a
 * key string that lived for minutes, so each miss promoted objects into V8's old generation and
 * later made them garbage there; the collector's work for that, with lru-cache's own, was ≈12 µs
 * of a 45 µs proxied request (bench/CACHE.md: the same run with storing turned off cost +7 µs, with
 * it +19). Here an entry is bytes in a buffer the collector never scans: no object per entry.
 *
 * Layout (all offsets in bytes, little-endian):
 * - control: Int32 words (CTL_*): a lock, the ring's head / tail / used bytes, counts.
 * - index: an open-addressing table (linear probing, deleted by backward shift, so no tombstones)
 *   of `slots` pairs [key hash, record offset + 1]; 0 marks an empty slot. At most half full: a set
 *   that would pass that evicts the oldest entries first.
 * - doorkeeper: the keys asked for recently (doorkeeper.ts), `slots / 2` sightings per generation,
 *   16 bits each (for 64 MiB of entries, 1 MiB): what admission asks when the tier is at its bound.
 * - ring: records appended at the head, evicted from the tail (first in, first out), each
 *   [u32 record bytes, u32 key hash, u16 key bytes, u16 live, u32 value bytes, u32 sequence number,
 *   u32 0, key, value], 8-byte aligned. The sequence number (one per record written) tells a reader
 *   whether a record is the one it decoded before (read()). A record that does not fit before the end leaves a gap (a 0 word) and goes to offset 0.
 *   A hit on an entry in the oldest quarter of the ring moves it to the head, so what is asked for
 *   stays (an approximation of least-recently-used at the cost of one copy per lap, not per hit).
 *
 * Every operation holds the lock (an Int32 taken with compareExchange; a worker that meets it held
 * waits on it with Atomics.wait) for a copy and a few probes: microseconds. A value is copied out on
 * get, so nothing handed to the request path can change under it. A value may be written in place
 * (setWith: reserved, encoded into the buffer, then indexed, under the lock), so a stored entry is
 * copied once, not encoded into a Buffer first and copied again.
 *
 * Keys are ASCII (the cache's keys are base64url digests); a key with another character is not kept.
 * Expiry is read from the value (an entry's header carries its expires-at) when it is looked up: an
 * expired entry is never returned; it is deleted when a lookup meets it, and otherwise ages out of
 * the ring like any other (its bytes count against the bound until then, so the bound still holds).
 */
import { isMainThread } from 'node:worker_threads'
import { entryExpiresAt } from './entry-header.js'
import { Doorkeeper } from './doorkeeper.js'

export interface MemoryTierStats {
  readonly entries: number
  readonly bytes: number
  readonly maxBytes: number
  readonly evictions: number
  /** The process's workers share this tier: its numbers are the process's, not this worker's. */
  readonly shared: boolean
}

/** Control words (Int32 indexes). */
const CTL_LOCK = 0
const CTL_HEAD = 1
const CTL_TAIL = 2
/** Bytes of the ring in use: live and deleted records and end gaps, head to tail. */
const CTL_USED = 3
const CTL_ENTRIES = 4
/** Bytes of live entries (their records). */
const CTL_LIVE_BYTES = 5
const CTL_EVICTIONS = 6
const CTL_SLOTS = 7
const CTL_RING_BYTES = 8
/** The last record's sequence number. */
const CTL_SEQ = 9
const CONTROL_BYTES = 64

const RECORD_HEAD = 24

/** read()'s answer when the record is the one the caller named: it has the value already. */
export const SAME_RECORD = Symbol('same record')
/** The average record size the index is sized for: fewer, larger entries fill the bytes first. */
const INDEX_BYTES_PER_ENTRY = 256
/** Spins before a worker sleeps on a held lock (the holder is copying at most an entry). */
const SPINS = 64
/**
 * How long a thread waits for the lock before it gives up (the operation is then a miss, or a
 * store not made): only a holder that died mid-operation (a terminated worker) keeps it that long,
 * and then the tier must not hang every worker.
 */
const LOCK_GIVE_UP_MS = 1000

/** set()'s writer: the value's bytes as they are. */
function copyValue(into: Buffer, at: number, value: Buffer): void {
  value.copy(into, at)
}

function align8(n: number): number {
  return (n + 7) & ~7
}

function nextPow2(n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

/** The doorkeeper remembers as many sightings per generation as the index holds entries. */
function doorkeeperBytes(slots: number): number {
  return Doorkeeper.bytesFor(slots >>> 1)
}

/** Index slots for a tier of `maxBytes`: room for one entry per INDEX_BYTES_PER_ENTRY at half load. */
function slotsFor(maxBytes: number): number {
  return nextPow2(Math.max(16, Math.ceil((2 * maxBytes) / INDEX_BYTES_PER_ENTRY)))
}

/** FNV-1a over the key's character codes. */
function hashKey(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return h | 0
}

/** hashKey, or NOT_ASCII for a key with a character above 0x7f (not kept): one pass for both. */
function hashAsciiKey(key: string): number {
  let h = 0x811c9dc5
  let any = 0
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    any |= c
    h = Math.imul(h ^ c, 0x01000193)
  }
  return any > 0x7f ? NOT_ASCII : h | 0
}
/** Not an Int32: no key hashes to it. */
const NOT_ASCII = 2 ** 32

export class MemoryTier {
  /** The buffer to give to other threads (`new MemoryTier(maxBytes, buffer)` there shares the entries). */
  readonly buffer: SharedArrayBuffer
  private readonly ctl: Int32Array
  /** [hash, offset + 1] pairs. */
  private readonly index: Int32Array
  private readonly mask: number
  private readonly maxEntries: number
  private readonly ringAt: number
  private readonly ringBytes: number
  private readonly u8: Uint8Array
  private readonly words: Int32Array
  private readonly view: Buffer
  private readonly canWait = !isMainThread
  private readonly doorkeeper: Doorkeeper

  /** A buffer for a tier of `maxBytes`, to create once and share (MemoryTier reads its size back). */
  static createBuffer(maxBytes: number): SharedArrayBuffer {
    const slots = slotsFor(maxBytes)
    const buffer = new SharedArrayBuffer(CONTROL_BYTES + slots * 8 + doorkeeperBytes(slots) + align8(maxBytes))
    const ctl = new Int32Array(buffer, 0, CONTROL_BYTES / 4)
    ctl[CTL_SLOTS] = slots
    ctl[CTL_RING_BYTES] = align8(maxBytes)
    return buffer
  }

  private readonly expiresAt: (value: Buffer) => number
  /** The buffer came from elsewhere (the main thread): other threads hold the same entries. */
  readonly shared: boolean

  /**
   * `buffer`: a shared tier's (createBuffer); without it the tier is this thread's own.
   * `expiresAt`: when a value stops being served (ms since the epoch); by default an entry header's.
   */
  constructor(readonly maxBytes: number, options: { buffer?: SharedArrayBuffer; expiresAt?: (value: Buffer) => number } = {}) {
    this.buffer = options.buffer ?? MemoryTier.createBuffer(maxBytes)
    this.shared = options.buffer !== undefined
    this.expiresAt = options.expiresAt ?? entryExpiresAt
    this.ctl = new Int32Array(this.buffer, 0, CONTROL_BYTES / 4)
    const slots = this.ctl[CTL_SLOTS]
    this.ringBytes = this.ctl[CTL_RING_BYTES]
    const doorAt = CONTROL_BYTES + slots * 8
    if (slots === 0 || this.buffer.byteLength !== doorAt + doorkeeperBytes(slots) + this.ringBytes) throw new Error('not a memory tier buffer')
    this.index = new Int32Array(this.buffer, CONTROL_BYTES, slots * 2)
    this.mask = slots - 1
    this.maxEntries = slots >>> 1
    this.doorkeeper = new Doorkeeper(new Int32Array(this.buffer, doorAt, doorkeeperBytes(slots) / 4), this.maxEntries)
    this.ringAt = doorAt + doorkeeperBytes(slots)
    this.u8 = new Uint8Array(this.buffer, this.ringAt, this.ringBytes)
    this.words = new Int32Array(this.buffer, this.ringAt, this.ringBytes / 4)
    this.view = Buffer.from(this.buffer, this.ringAt, this.ringBytes)
  }

  /** The sequence number of the record read() last found (-1 before any). */
  lastRead = -1

  /** A copy of the entry under `key`, if there is one and it has not expired. */
  get(key: string): Buffer | undefined {
    const got = this.read(key, -1)
    return got === SAME_RECORD ? undefined : got
  }

  /**
   * As get(), except that when the record under `key` is record `known` (a lastRead of before)
   * nothing is copied and SAME_RECORD says so: the caller decoded it already, and checks its expiry
   * itself. Sets lastRead when a record is found.
   */
  read(key: string, known: number): Buffer | typeof SAME_RECORD | undefined {
    const h = hashKey(key)
    let out: Buffer | typeof SAME_RECORD
    if (!this.lock()) return undefined
    try {
      const slot = this.find(key, h)
      if (slot < 0) return undefined
      const at = this.index[slot * 2 + 1] - 1
      const seq = this.words[(at >> 2) + 4]
      this.lastRead = seq
      if (seq === known) out = SAME_RECORD
      else {
        const valueAt = at + RECORD_HEAD + align8(key.length)
        const valueBytes = this.words[(at >> 2) + 3]
        const copy = Buffer.allocUnsafe(valueBytes)
        this.view.copy(copy, 0, valueAt, valueAt + valueBytes)
        if (this.expiresAt(copy) <= Date.now()) {
          this.remove(slot)
          return undefined
        }
        out = copy
      }
      // In the oldest quarter of a ring that is filling up: written again at the head, so an entry in
      // use is not among the next to go.
      if (this.ctl[CTL_USED] > this.ringBytes - (this.ringBytes >>> 2) && this.distanceFromTail(at) < this.ringBytes >>> 2) {
        const value = this.view.subarray(at + RECORD_HEAD + align8(key.length), at + RECORD_HEAD + align8(key.length) + this.words[(at >> 2) + 3])
        this.remove(slot)
        // A dead record's bytes stay until the tail passes them, but the append may evict them: copy first.
        this.append(key, h, Buffer.from(value))
        this.lastRead = this.ctl[CTL_SEQ]
      }
      return out
    } finally {
      this.unlock()
    }
  }

  /**
   * Records that `key` was asked for (it missed) and says whether its answer should be stored when
   * admission is `seen_twice_when_full`: yes while the tier has room, and at its bound only for a
   * key sighted before (within the doorkeeper's last one to two generations). No lock: the
   * doorkeeper's bits are set atomically, and the bound is read from counters that may be a
   * moment old (a store more or less at the edge of full, never a wrong entry).
   */
  admits(key: string): boolean {
    return this.doorkeeper.sight(hashKey(key)) || !this.atBound()
  }

  /**
   * Whether storing an entry of the average size would evict live entries: too little room left
   * in the ring (or the index at its entry bound), and at least half the ring live (after a purge
   * the ring is full of dead records, and evicting those costs nothing).
   */
  atBound(): boolean {
    const ctl = this.ctl
    const entries = Atomics.load(ctl, CTL_ENTRIES)
    if (entries >= this.maxEntries) return true
    if (entries === 0) return false
    const live = Atomics.load(ctl, CTL_LIVE_BYTES)
    return Atomics.load(ctl, CTL_USED) + live / entries > this.ringBytes && live > this.ringBytes >>> 1
  }

  /** Keeps `value` under `key` (replacing what was there). Not kept: larger than the tier, or a non-ASCII key. */
  set(key: string, value: Buffer): void {
    this.setWith(key, value.length, copyValue, value)
  }

  /**
   * Keeps a value of `bytes` bytes under `key`, written by `write(into, at, arg)` straight into the
   * shared buffer (`into[at … at + bytes)`): the record is reserved, written and only then indexed,
   * all under the lock, so no reader sees it half written, and an encoder needs no Buffer of its
   * own to copy from. `write` must not call the tier (the lock is not reentrant) and must write only
   * its `bytes`: after them is another record. If it throws, the reserved record stays unindexed
   * (dead: it leaves with the tail) and the error goes on to the caller. Not kept (false): larger
   * than the tier, or a non-ASCII key, or the lock not had.
   */
  setWith<A>(key: string, bytes: number, write: (into: Buffer, at: number, arg: A) => void, arg: A): boolean {
    if (!(bytes >= 0 && bytes <= 0x7fffffff) || RECORD_HEAD + align8(key.length) + align8(bytes) > this.ringBytes || key.length > 0xffff) return false
    const h = hashAsciiKey(key)
    if (h === NOT_ASCII || !this.lock()) return false
    try {
      const slot = this.find(key, h)
      if (slot >= 0) this.remove(slot)
      const at = this.reserve(key, h, bytes)
      write(this.view, at + RECORD_HEAD + align8(key.length), arg)
      this.commit(h, at)
      return true
    } finally {
      this.unlock()
    }
  }

  /**
   * Takes `key` as a marker until `untilMs` (ms since the epoch) unless another thread holds it
   * now: true when this caller has it (single flight across the workers, filters/cache.ts; release
   * with delete()). A marker is a record like any other, so the ring may evict it early under heavy
   * churn: then a second caller goes upstream, never none.
   */
  claim(key: string, untilMs: number): boolean {
    const h = hashKey(key)
    if (!this.lock()) return true
    try {
      const slot = this.find(key, h)
      if (slot >= 0) {
        const at = this.index[slot * 2 + 1] - 1
        if (this.view.readDoubleLE(at + RECORD_HEAD + align8(key.length)) > Date.now()) return false
        this.remove(slot)
      }
      const value = Buffer.allocUnsafe(8)
      value.writeDoubleLE(untilMs, 0)
      this.append(key, h, value)
      return true
    } finally {
      this.unlock()
    }
  }

  /** Whether an entry is kept under `key` (expired or not), without copying it. */
  has(key: string): boolean {
    const h = hashKey(key)
    if (!this.lock()) return false
    try {
      return this.find(key, h) >= 0
    } finally {
      this.unlock()
    }
  }

  delete(key: string): boolean {
    const h = hashKey(key)
    if (!this.lock()) return false
    try {
      const slot = this.find(key, h)
      if (slot < 0) return false
      this.remove(slot)
      return true
    } finally {
      this.unlock()
    }
  }

  /**
   * Removes the entries `test` accepts (admin invalidation; off the request path). `test` is given a
   * view of the value in the shared buffer, valid only during the call. Returns how many.
   */
  deleteWhere(test: (value: Buffer) => boolean): number {
    let n = 0
    if (!this.lock()) return 0
    try {
      for (let slot = 0; slot <= this.mask; slot++) {
        const at = this.index[slot * 2 + 1] - 1
        if (at < 0) continue
        const keyBytes = this.u8[at + 8] | (this.u8[at + 9] << 8)
        const valueAt = at + RECORD_HEAD + align8(keyBytes)
        if (!test(this.view.subarray(valueAt, valueAt + this.words[(at >> 2) + 3]))) continue
        this.remove(slot)
        n++
        // Backward shift may have moved the next chain's entry into this slot: look at it again.
        slot--
      }
    } finally {
      this.unlock()
    }
    return n
  }

  stats(): MemoryTierStats {
    return { entries: Atomics.load(this.ctl, CTL_ENTRIES), bytes: Atomics.load(this.ctl, CTL_LIVE_BYTES), maxBytes: this.maxBytes, evictions: Atomics.load(this.ctl, CTL_EVICTIONS), shared: this.shared }
  }

  // ——— below: the lock held ———

  /** The index slot holding `key`, or -1. */
  private find(key: string, h: number): number {
    const index = this.index
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const at = index[slot * 2 + 1] - 1
      if (at < 0) return -1
      if (index[slot * 2] === h && this.keyAt(at, key)) return slot
    }
  }

  private keyAt(at: number, key: string): boolean {
    const u8 = this.u8
    if ((u8[at + 8] | (u8[at + 9] << 8)) !== key.length) return false
    const k = at + RECORD_HEAD
    for (let i = 0; i < key.length; i++) if (u8[k + i] !== key.charCodeAt(i)) return false
    return true
  }

  /** Empties index slot `slot` (backward shift: the entries after it in its probe run move up) and marks its record dead. */
  private remove(slot: number): void {
    const index = this.index
    const at = index[slot * 2 + 1] - 1
    this.words[(at >> 2) + 2] &= 0xffff // live = 0 (the upper half of the word holding key bytes and live)
    const ctl = this.ctl
    ctl[CTL_ENTRIES]--
    ctl[CTL_LIVE_BYTES] -= this.words[at >> 2]
    let hole = slot
    for (let next = (slot + 1) & this.mask; ; next = (next + 1) & this.mask) {
      const off = index[next * 2 + 1]
      if (off === 0) break
      const home = index[next * 2] & this.mask
      // `next` may fill the hole when its home is not in (hole, next] (circularly).
      if (hole <= next ? home <= hole || home > next : home <= hole && home > next) {
        index[hole * 2] = index[next * 2]
        index[hole * 2 + 1] = off
        hole = next
      }
    }
    index[hole * 2] = 0
    index[hole * 2 + 1] = 0
  }

  /** Writes a record at the head (evicting from the tail for room) and indexes it. */
  private append(key: string, h: number, value: Buffer): void {
    const at = this.reserve(key, h, value.length)
    value.copy(this.view, at + RECORD_HEAD + align8(key.length))
    this.commit(h, at)
  }

  /**
   * Makes room at the head (evicting from the tail) for a record of `key` and a value of
   * `valueBytes`, writes its head and key, dead (live = 0) and unindexed until commit(): its offset.
   */
  private reserve(key: string, h: number, valueBytes: number): number {
    const ctl = this.ctl
    const size = RECORD_HEAD + align8(key.length) + align8(valueBytes)
    // One slot for the record about to be indexed.
    while (ctl[CTL_ENTRIES] >= this.maxEntries) this.evictTail()
    for (;;) {
      if (ctl[CTL_USED] === 0) ctl[CTL_HEAD] = ctl[CTL_TAIL] = 0
      const head = ctl[CTL_HEAD]
      const tail = ctl[CTL_TAIL]
      const full = head === tail && ctl[CTL_USED] > 0
      if (!full && head >= tail) {
        if (this.ringBytes - head >= size) break
        // No room before the end: the rest is a gap (a 0 word says so when there is room for one), then offset 0.
        if (this.ringBytes - head >= 4) this.words[head >> 2] = 0
        ctl[CTL_USED] += this.ringBytes - head
        ctl[CTL_HEAD] = 0
        continue
      }
      if (!full && tail - head >= size) break
      this.evictTail()
    }
    const at = ctl[CTL_HEAD]
    const w = at >> 2
    this.words[w] = size
    this.words[w + 1] = h
    this.words[w + 2] = key.length
    this.words[w + 3] = valueBytes
    // Wraps after 2^32 records; never -1, which read() takes as "no record known".
    const seq = (ctl[CTL_SEQ] + 1) | 0
    this.words[w + 4] = ctl[CTL_SEQ] = seq === -1 ? 0 : seq
    this.words[w + 5] = 0
    // ASCII (set checks): a byte per character, cheaper in a loop than a native write for ~44 of them.
    const u8 = this.u8
    for (let i = 0, k = at + RECORD_HEAD; i < key.length; i++) u8[k + i] = key.charCodeAt(i)
    ctl[CTL_HEAD] = at + size === this.ringBytes ? 0 : at + size
    ctl[CTL_USED] += size
    return at
  }

  /** The reserved record at `at` is written: live, counted and indexed. */
  private commit(h: number, at: number): void {
    const ctl = this.ctl
    this.words[(at >> 2) + 2] |= 1 << 16
    ctl[CTL_ENTRIES]++
    ctl[CTL_LIVE_BYTES] += this.words[at >> 2]
    const index = this.index
    let slot = h & this.mask
    while (index[slot * 2 + 1] !== 0) slot = (slot + 1) & this.mask
    index[slot * 2] = h
    index[slot * 2 + 1] = at + 1
  }

  /** Drops the oldest record (or end gap) from the ring, and its entry from the index if it is live. */
  private evictTail(): void {
    const ctl = this.ctl
    const tail = ctl[CTL_TAIL]
    if (this.ringBytes - tail < RECORD_HEAD || this.words[tail >> 2] === 0) {
      ctl[CTL_USED] -= this.ringBytes - tail
      ctl[CTL_TAIL] = 0
      return
    }
    const w = tail >> 2
    const size = this.words[w]
    if (this.words[w + 2] >>> 16 === 1) {
      const slot = this.slotOf(this.words[w + 1], tail)
      this.remove(slot)
      ctl[CTL_EVICTIONS]++
    }
    ctl[CTL_USED] -= size
    ctl[CTL_TAIL] = tail + size === this.ringBytes ? 0 : tail + size
  }

  /** The index slot of the live record at `at` (its hash is known). */
  private slotOf(h: number, at: number): number {
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) if (this.index[slot * 2 + 1] === at + 1) return slot
  }

  /** How far `at` is past the tail, circularly: small means the record is among the next to go. */
  private distanceFromTail(at: number): number {
    const tail = this.ctl[CTL_TAIL]
    return at >= tail ? at - tail : this.ringBytes - tail + at
  }

  /** 0 free, 1 held, 2 held and maybe waited on (so only then does unlock wake anyone). false: given up. */
  private lock(): boolean {
    const ctl = this.ctl
    let c = Atomics.compareExchange(ctl, CTL_LOCK, 0, 1)
    for (let i = 0; c !== 0 && i < SPINS; i++) c = Atomics.compareExchange(ctl, CTL_LOCK, 0, 1)
    if (c === 0) return true
    if (c !== 2) c = Atomics.exchange(ctl, CTL_LOCK, 2)
    const giveUpAt = Date.now() + LOCK_GIVE_UP_MS
    while (c !== 0) {
      // The main thread may not block (Atomics.wait throws there): it spins.
      if (this.canWait) Atomics.wait(ctl, CTL_LOCK, 2, 10)
      if (Date.now() > giveUpAt) return false
      c = Atomics.exchange(ctl, CTL_LOCK, 2)
    }
    return true
  }

  private unlock(): void {
    if (Atomics.sub(this.ctl, CTL_LOCK, 1) !== 1) {
      Atomics.store(this.ctl, CTL_LOCK, 0)
      Atomics.notify(this.ctl, CTL_LOCK, 1)
    }
  }
}
