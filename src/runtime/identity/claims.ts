/**
 * A claim of a JWT payload by name: a top-level claim (namespaced names with dots such as
 * `https://example.com/tenant` included), or else a dotted path into nested objects (`org.id`).
 * Shared by the jwt verifier's tenant mapping and the route match on claims.
 */
export function claimAt(payload: Readonly<Record<string, unknown>>, claim: string): unknown {
  if (Object.hasOwn(payload, claim)) return payload[claim]
  let v: unknown = payload
  for (const part of claim.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, part)) return undefined
    v = (v as Record<string, unknown>)[part]
  }
  return v
}

/** A claim as text for a match: strings, numbers and booleans; '' for another present value (an object, an array). */
export function claimText(payload: Readonly<Record<string, unknown>>, claim: string): string | undefined {
  const v = claimAt(payload, claim)
  if (v === undefined) return undefined
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : OTHER
}
/** What a present claim that is not text matches: nothing but `present` (no exact value or regex matches a NUL). */
const OTHER = '\u0000'
