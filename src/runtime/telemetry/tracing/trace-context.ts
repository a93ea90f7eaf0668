/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): reading a caller's `traceparent`, writing
 * the one an upstream request carries. Hand-written rather than the SDK's propagator because it runs
 * before the sampling decision, on every request of a traced listener, and must cost next to nothing.
 */

/** A caller's `traceparent`, validated. */
export interface RemoteParent {
  readonly traceId: string
  readonly spanId: string
  readonly traceFlags: number
}

const HEX = /^[0-9a-f]+$/
const ZERO_TRACE = '00000000000000000000000000000000'
const ZERO_SPAN = '0000000000000000'

/**
 * `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`; a later version may append fields after a
 * `-` (read as version 00, as the spec says). Undefined for anything malformed, an all-zero id or
 * version `ff`: the request then starts a new trace.
 */
export function parseTraceparent(value: string | undefined): RemoteParent | undefined {
  if (value === undefined || value.length < 55) return undefined
  if (value[2] !== '-' || value[35] !== '-' || value[52] !== '-') return undefined
  const version = value.slice(0, 2)
  if (version === 'ff' || !HEX.test(version)) return undefined
  if (value.length > 55 && (version === '00' || value[55] !== '-')) return undefined
  const traceId = value.slice(3, 35)
  const spanId = value.slice(36, 52)
  const flags = value.slice(53, 55)
  if (!HEX.test(traceId) || !HEX.test(spanId) || !HEX.test(flags) || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined
  return { traceId, spanId, traceFlags: parseInt(flags, 16) }
}

/** The `traceparent` of a span: version 00, its trace and span ids, sampled or not. */
export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${traceFlags & 1 ? '01' : '00'}`
}
