/**
 * HyperLogLog (Flajolet et al., with the small-range correction): how many distinct keys a set of
 * 32-bit hashes holds, in 2^PRECISION bytes (4 KiB) whatever the count, mergeable by taking the larger
 * register. Workers add the sticky-split keys they see; the main thread merges the workers'
 * registers for /experiments. Standard error ≈ 1.04 / sqrt(2^PRECISION) ≈ 1.6 %.
 */
import { mix32 } from './string-hash.js'

export const HLL_PRECISION = 12
const M = 1 << HLL_PRECISION
const ALPHA = 0.7213 / (1 + 1.079 / M)

export function createRegisters(): Uint8Array {
  return new Uint8Array(M)
}


/** Adds one key, given as a 32-bit hash (routing's fnv1a). */
export function addHash(registers: Uint8Array, hash: number): void {
  // Spread FNV-1a's weak low bits over the whole word before the hash is split.
  const h = mix32(hash)
  const index = h >>> (32 - HLL_PRECISION)
  const rest = (h << HLL_PRECISION) >>> 0
  // Position of the first 1 bit in the remaining 22 bits (1-based); all zero counts as 23.
  const rank = rest === 0 ? 32 - HLL_PRECISION + 1 : Math.clz32(rest) + 1
  if (rank > registers[index]) registers[index] = rank
}

/** `into` becomes the union of both sets. */
export function mergeRegisters(into: Uint8Array, from: Uint8Array): void {
  for (let i = 0; i < M; i++) if (from[i] > into[i]) into[i] = from[i]
}

export function estimate(registers: Uint8Array): number {
  let sum = 0
  let zeros = 0
  for (let i = 0; i < M; i++) {
    sum += 2 ** -registers[i]
    if (registers[i] === 0) zeros++
  }
  const raw = (ALPHA * M * M) / sum
  // Small counts: linear counting over the empty registers is far more accurate.
  if (raw <= 2.5 * M && zeros > 0) return Math.round(M * Math.log(M / zeros))
  return Math.round(raw)
}
