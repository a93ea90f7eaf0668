/**
 * Which headers cross the gateway. Hop-by-hop headers never do; client credentials are replaced
 * by the endpoint's when it has its own, and never cross for a caller an auth filter identified
 * (its key was its proof of identity, not a key for the provider).
 */
import type { CompiledEndpoint } from '../types.js'
import { CREDENTIAL_HEADERS } from '../identity/credentials.js'

const HOP_BY_HOP = new Set([
  'host', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization',
  'proxy-connection', 'content-length', 'expect',
  // We must read SSE bodies as text (usage, errors); compression stays between the client and us.
  'accept-encoding',
])
const CREDENTIALS: ReadonlySet<string> = new Set(CREDENTIAL_HEADERS)

export function forwardedRequestHeaders(headers: Record<string, string>, endpoint: CompiledEndpoint, callerIdentified: boolean): string[] {
  const out = endpoint.baseHeaders.slice()
  const dropCredentials = endpoint.hasCredentials || callerIdentified
  for (const name in headers) {
    if (HOP_BY_HOP.has(name)) continue
    if (dropCredentials && CREDENTIALS.has(name)) continue
    out.push(name, headers[name])
  }
  return out
}

/**
 * Which upstream response headers reach the client: an allow-list, so cookies, CORS grants and
 * internal proxy headers of a provider (or of whatever sits in front of it) never do. Built once
 * per cluster from the built-in list and the cluster's `forward_response_headers`.
 */
export interface ResponseHeaderPolicy {
  allows(name: string): boolean
}

/** What every OpenAI-, Anthropic-, Gemini- or Bedrock-style API sends that a client may use. */
const ALLOWED = [
  'content-type', 'content-encoding', 'cache-control', 'retry-after', 'x-request-id', 'request-id',
  'x-should-retry', 'openai-*', 'x-ratelimit-*', 'anthropic-*', 'x-amzn-requestid', 'x-amzn-bedrock-*',
  'x-amz-request-id', 'apim-request-id', 'x-ms-region', 'x-ms-request-id', 'x-goog-*', 'x-litellm-*',
]

/** Distinct header names remembered per cluster; a hostile upstream inventing names cannot grow it further. */
const DECISION_CACHE_LIMIT = 512

export function createResponseHeaderPolicy(extra: readonly string[]): ResponseHeaderPolicy {
  const decided = new Map<string, boolean>()
  const prefixes: string[] = []
  for (const h of [...ALLOWED, ...extra]) {
    const name = h.toLowerCase()
    if (name.endsWith('*')) prefixes.push(name.slice(0, -1))
    else decided.set(name, true)
  }
  const byPrefix = (name: string) => {
    for (let i = 0; i < prefixes.length; i++) if (name.startsWith(prefixes[i])) return true
    return false
  }
  return {
    // hot path: one Map lookup for every name seen before
    allows(name) {
      const known = decided.get(name)
      if (known !== undefined) return known
      const ok = byPrefix(name)
      if (decided.size < DECISION_CACHE_LIMIT) decided.set(name, ok)
      return ok
    },
  }
}

/** Allowed response headers as [name, value] pairs (undici gives lower-case names). */
export function forwardedResponseHeaders(headers: Record<string, string | string[] | undefined>, policy: ResponseHeaderPolicy): [string, string][] {
  const out: [string, string][] = []
  for (const name in headers) {
    if (!policy.allows(name)) continue
    const v = headers[name]
    if (v === undefined) continue
    if (typeof v === 'string') out.push([name, v])
    else for (const one of v) out.push([name, one])
  }
  return out
}
