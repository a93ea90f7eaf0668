/**
 * The doorkeeper: which keys were asked for recently (TinyLFU's doorkeeper, as in Caffeine and
 * Ristretto), so that a full memory tier admits a key only on its second sighting and does not evict
 * answers that are asked for again to make room for one-hit wonders.
 *
 * Two generations of a bit set, two bits per key (positions from a 32-bit key hash, mixed). A
 * sighting sets the key's bits in the current generation; a key was "seen" when both its bits are
 * set in either generation. After `perGeneration` new sightings the older generation is cleared and
 * becomes the current one, so a sighting is remembered for between one and two generations, and
 * the bits never fill up. No false negatives within that window (bits are only cleared with a
 * whole generation); false positives are the bit set's (with 16 bits per sighting per generation
 * and two bits per key, about 1.4 % per generation at its end).
 *
 * The words live in a shared Int32Array (the memory tier's SharedArrayBuffer), so every worker of a
 * process records into and reads the same sightings. Bits are set with Atomics.or and read plainly:
 * a read racing a set may miss it (the key then waits for another sighting), never corrupts it.
 * The generation switch is made by the one thread whose sighting reached the limit.
 *
 * Layout (Int32 words): [0] current generation (0 or 1), [1] new sightings in it, [2, 3] unused,
 * then generation 0's words, then generation 1's.
 */

const GEN = 0
const COUNT = 1
const HEAD_WORDS = 4

export class Doorkeeper {
  /** Bytes of a doorkeeper remembering `perGeneration` sightings per generation (16 bits each, a power of two). */
  static bytesFor(perGeneration: number): number {
    return (HEAD_WORDS + 2 * Doorkeeper.wordsPerGeneration(perGeneration)) * 4
  }

  private static wordsPerGeneration(perGeneration: number): number {
    let bits = 64
    while (bits < 16 * perGeneration) bits *= 2
    return bits >>> 5
  }

  private readonly words: Int32Array
  private readonly genWords: number
  /** Bit positions are taken modulo genWords × 32 (a power of two). */
  private readonly bitMask: number

  /** `words`: Doorkeeper.bytesFor(perGeneration) / 4 zeroed (or shared) words. */
  constructor(words: Int32Array, readonly perGeneration: number) {
    this.genWords = Doorkeeper.wordsPerGeneration(perGeneration)
    if (!(perGeneration >= 1) || words.length !== HEAD_WORDS + 2 * this.genWords) throw new Error('not a doorkeeper of this size')
    this.words = words
    this.bitMask = this.genWords * 32 - 1
  }

  /** Records a sighting of the key hashing to `h`; true when it had been seen before (in either generation). */
  sight(h: number): boolean {
    const w = this.words
    const a = mix(h)
    const b = mix(a ^ 0x9e3779b9)
    const cur = HEAD_WORDS + (Atomics.load(w, GEN) & 1) * this.genWords
    const old = HEAD_WORDS + this.genWords - (cur - HEAD_WORDS)
    const ia = (a & this.bitMask) >>> 5
    const ib = (b & this.bitMask) >>> 5
    const ma = 1 << (a & 31)
    const mb = 1 << (b & 31)
    if ((w[cur + ia] & ma) !== 0 && (w[cur + ib] & mb) !== 0) return true
    const before = (w[old + ia] & ma) !== 0 && (w[old + ib] & mb) !== 0
    Atomics.or(w, cur + ia, ma)
    Atomics.or(w, cur + ib, mb)
    if (Atomics.add(w, COUNT, 1) + 1 === this.perGeneration) this.age(cur)
    return before
  }

  /** Whether the key hashing to `h` was seen (in either generation), without recording a sighting. */
  seen(h: number): boolean {
    const w = this.words
    const a = mix(h)
    const b = mix(a ^ 0x9e3779b9)
    const ia = (a & this.bitMask) >>> 5
    const ib = (b & this.bitMask) >>> 5
    const ma = 1 << (a & 31)
    const mb = 1 << (b & 31)
    for (const g of [HEAD_WORDS, HEAD_WORDS + this.genWords]) if ((w[g + ia] & ma) !== 0 && (w[g + ib] & mb) !== 0) return true
    return false
  }

  /** The generation at `cur` is full: the other one is forgotten and becomes the current one. */
  private age(cur: number): void {
    const w = this.words
    const next = cur === HEAD_WORDS ? HEAD_WORDS + this.genWords : HEAD_WORDS
    // Cleared before it is made current: writers record into `cur` until the switch below.
    w.fill(0, next, next + this.genWords)
    Atomics.store(w, GEN, next === HEAD_WORDS ? 0 : 1)
    Atomics.store(w, COUNT, 0)
  }
}

/** murmur3's 32-bit finalizer: every input bit reaches every output bit (the key hash is FNV-1a, weak in its low bits). */
function mix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) | 0
}
