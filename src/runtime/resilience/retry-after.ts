/**
 * `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Shared by the retry policy and
 * the outlier detector's 429 cooldown so both read the header the same way.
 */

/**
 * Milliseconds to wait from `now` (epoch ms, i.e. Date.now()-based, because an HTTP-date is wall
 * clock), or undefined when the value is absent or unreadable. A date in the past gives 0.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  if (v === '') return undefined
  // delay-seconds is 1*DIGIT; some upstreams send fractions ("0.5"), which are worth honouring.
  if (/^[0-9]+(\.[0-9]+)?$/.test(v)) return Math.round(Number(v) * 1000)
  // Date.parse is lenient ("-1" is a date to it); an HTTP-date always names its weekday and month.
  if (!/[a-z]/i.test(v)) return undefined
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
