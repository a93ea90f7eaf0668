/**
 * Request paths the gateway refuses before routing: dot segments (`/v1/../admin`, also
 * percent-encoded) would let a prefix route reach an upstream path the operator never exposed,
 * and a path that does not percent-decode cannot be matched reliably.
 *
 * hot path -- change with care: a path without `/.` and `%` is accepted after two searches.
 */
export function refusePath(path: string): string | undefined {
  if (path.indexOf('/.') === -1 && path.indexOf('%') === -1 && path.indexOf('\\') === -1) return undefined
  let decoded = path
  if (path.indexOf('%') !== -1) {
    try {
      decoded = decodeURIComponent(path)
    } catch {
      return 'request path has invalid percent-encoding'
    }
  }
  if (decoded.indexOf('\\') !== -1) return 'request path must not contain a backslash'
  for (const seg of decoded.split('/')) if (seg === '.' || seg === '..') return 'request path must not contain dot segments (. or ..)'
  return undefined
}
