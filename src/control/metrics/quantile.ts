/**
 * Quantiles from histogram buckets the way Prometheus's histogram_quantile() computes them: find
 * the bucket the rank falls in and interpolate linearly inside it (the first bucket starts at 0);
 * a rank in the +Inf bucket answers the highest finite bound.
 */

/** Cumulative counts by upper bound, ascending, +Inf last (as the `_bucket` series are). */
export type CumulativeBuckets = readonly { readonly le: number; readonly count: number }[]

export function bucketQuantile(q: number, buckets: CumulativeBuckets): number | undefined {
  if (buckets.length === 0) return undefined
  const total = buckets[buckets.length - 1].count
  if (total === 0) return undefined
  const rank = q * total
  let prevLe = 0
  let prevCount = 0
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe
      if (b.count === prevCount) return b.le
      return prevLe + (b.le - prevLe) * ((rank - prevCount) / (b.count - prevCount))
    }
    prevLe = b.le
    prevCount = b.count
  }
  return prevLe
}
