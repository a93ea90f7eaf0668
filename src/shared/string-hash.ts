/**
 * The one 32-bit string hash of the gateway: FNV-1a over UTF-16 code units, stable across
 * processes and workers (a sticky key maps the same everywhere), and murmur3's finalizer for
 * callers that need the bits spread (FNV-1a leaves similar short keys close in the high bits and
 * weak in the low ones): ring hashing, sticky split points, HyperLogLog registers.
 */

/** FNV-1a, 32 bit, unsigned. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** murmur3's fmix32: every input bit moves every output bit. */
export function mix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
