/** Reading an admin request's query string and peer the same way on uWS's native addon and its JavaScript fallback. */
/** The raw query string without `?`; uWS's JavaScript fallback throws on some requests and prefixes `?`. */
export function queryOf(req: import('uWebSockets.js').HttpRequest): string {
  try {
    const q = req.getQuery() ?? ''
    return q.startsWith('?') ? q.slice(1) : q
  } catch {
    return ''
  }
}

/** The TCP peer's address as text; '' where the JavaScript fallback does not implement it. */
export function peerOf(res: import('uWebSockets.js').HttpResponse): string {
  try {
    return Buffer.from(res.getRemoteAddressAsText()).toString()
  } catch {
    return ''
  }
}
