/**
 * The caller's TCP address, read from the connection the first time a filter asks for it. Reading
 * it costs a native call and a string per request, and only failure counting and trusted proxies
 * need it, so the server does not read it up front. uWS's response (which knows the address) stays
 * valid until the answer ended or the client left; after that the address is '' (unknown), which
 * the readers treat as "no source": never blocked, never trusted.
 */
import type { RequestContext } from '../types.js'

export function peerOf(ctx: RequestContext): string {
  return (ctx.peer ??= ctx.downstream.remoteAddress())
}
