/**
 * Which headers cross the gateway. Hop-by-hop headers never do; client credentials are replaced
 * by the endpoint's when it has its own.
 */
import type { CompiledEndpoint } from '../types.js'

const HOP_BY_HOP = new Set([
  'host', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization',
  'proxy-connection', 'content-length', 'expect',
  // We must read SSE bodies as text (usage, errors); compression stays between the client and us.
  'accept-encoding',
])
const CREDENTIALS = new Set(['authorization', 'x-api-key', 'api-key'])

export function forwardedRequestHeaders(headers: Record<string, string>, endpoint: CompiledEndpoint): string[] {
  const out = endpoint.baseHeaders.slice()
  const dropCredentials = endpoint.hasCredentials
  for (const name in headers) {
    if (HOP_BY_HOP.has(name)) continue
    if (dropCredentials && CREDENTIALS.has(name)) continue
    out.push(name, headers[name])
  }
  return out
}

const RESPONSE_SKIP = new Set([
  'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date', 'server', 'upgrade', 'trailer',
  'proxy-connection',
])

export function forwardedResponseHeaders(headers: Record<string, string | string[] | undefined>): [string, string][] {
  const out: [string, string][] = []
  for (const name in headers) {
    if (RESPONSE_SKIP.has(name)) continue
    const v = headers[name]
    if (v === undefined) continue
    if (typeof v === 'string') out.push([name, v])
    else for (const one of v) out.push([name, one])
  }
  return out
}
