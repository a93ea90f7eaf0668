/**
 * Request framing that uWS accepts but must not be trusted (RFC 9112 §6.1–6.3). uWS frames a body
 * by the *first* Content-Length header and treats any Transfer-Encoding as chunked; whatever
 * follows what it took as the body is parsed as the next request. A proxy in front that frames
 * the same bytes differently (last Content-Length, say) would see one request where the gateway
 * sees two, and the second would go upstream with the gateway's credentials: request smuggling.
 * So a request whose framing is ambiguous is refused with 400 and its connection closed.
 *
 * Input is the handler's header record, where a repeated header is joined with ", ": a second
 * Content-Length shows up as a non-digit length, a second Transfer-Encoding as a coding list.
 */

/** Longest Content-Length taken as a number (Number stays exact up to 2^53). */
const MAX_DIGITS = 15

// hot path: called for every request that carries Content-Length or Transfer-Encoding
/** Why the framing is refused, or undefined when it is unambiguous. */
export function framingError(contentLength: string | undefined, transferEncoding: string | undefined): string | undefined {
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) return 'Transfer-Encoding and Content-Length must not both be sent'
    if (transferEncoding.length !== 7 || transferEncoding.toLowerCase() !== 'chunked') {
      return `unsupported Transfer-Encoding '${clip(transferEncoding)}' (only a single 'chunked' is accepted)`
    }
    return undefined
  }
  if (contentLength === undefined || isDigits(contentLength)) return undefined
  if (contentLength.includes(',')) return `conflicting or repeated Content-Length values '${clip(contentLength)}'`
  return `invalid Content-Length '${clip(contentLength)}' (must be a decimal number of bytes)`
}

function isDigits(s: string): boolean {
  const n = s.length
  if (n === 0 || n > MAX_DIGITS) return false
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

/** The offending value, short enough for an error message (it is the client's own input). */
function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s
}
