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
    s += (first ? '' : ',') + JSON.stringify(keys[i]) + ':' + canonicalJsonOracle(x)
    first = false
  }
  return s + '}'
}
