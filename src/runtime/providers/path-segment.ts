/**
 * Client-chosen text (a model or deployment name) placed into an upstream URL path. Unlike
 * encodeURIComponent this never throws: a lone surrogate is a refusal, and so are `.`/`..` (they
 * would walk the upstream path: `/openai/deployments/../chat/completions`) and the empty name.
 */
export function encodePathSegment(name: string): { readonly segment: string } | { readonly refused: string } {
  if (name === '' ) return { refused: 'must not be empty' }
  if (name === '.' || name === '..') return { refused: `must not be '${name}'` }
  try {
    return { segment: encodeURIComponent(name) }
  } catch {
    return { refused: 'is not well-formed Unicode (unpaired surrogate)' }
  }
}

/** The query without the parameters a provider adapter sets itself (e.g. Azure's `api-version`). */
export function withoutOwnedParams(query: string, owned: readonly string[]): string {
  if (query === '') return query
  const params = new URLSearchParams(query)
  let removed = false
  for (const name of owned) {
    if (params.has(name)) {
      params.delete(name)
      removed = true
    }
  }
  return removed ? params.toString() : query
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/** `s` with unpaired surrogates replaced by U+FFFD, so encodeURIComponent cannot throw on it. */
export function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\ufffd')
}
