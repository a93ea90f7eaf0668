/**
 * The first canonicalJson (src/runtime/cache/key.ts before the faster one), kept as it was: the
 * oracle the current one must agree with byte for byte (canonical-json.test.ts), since a different
 * byte is a different cache key. Not used by the runtime.
 */
export function canonicalJsonOracle(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null'
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]'
    let s = '[' + (v[0] === undefined ? 'null' : canonicalJsonOracle(v[0]))
    for (let i = 1; i < v.length; i++) s += ',' + (v[i] === undefined ? 'null' : canonicalJsonOracle(v[i]))
    return s + ']'
  }
  const keys = Object.keys(v)
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1] > keys[i]) {
      keys.sort()
      break
    }
  }
  let s = '{'
  let first = true
  for (let i = 0; i < keys.length; i++) {
    const x = (v as Record<string, unknown>)[keys[i]]
    if (x === undefined) continue
    s += (first ? '' : ',') + quotedKey(keys[i]) + ':' + canonicalJsonOracle(x)
    first = false
  }
  return s + '}'
}

/** Quoted object keys, up to QUOTED_MAX names of at most 64 characters (request bodies reuse a small vocabulary). */
const quoted = new Map<string, string>()
const QUOTED_MAX = 4096

function quotedKey(k: string): string {
  let q = quoted.get(k)
  if (q === undefined) {
    q = JSON.stringify(k)
    if (quoted.size < QUOTED_MAX && k.length <= 64) quoted.set(k, q)
  }
  return q
}
