/**
 * Where a caller's credential is: the three headers the official SDKs send, read in an order
 * compiled once per listener, and the list of headers that must never reach an upstream.
 *
 * - `authorization: Bearer <key>`: the openai SDK, most HTTP clients, JWTs.
 * - `x-api-key: <key>`: the Anthropic SDK (and its `authToken` option sends a Bearer instead).
 * - `api-key: <key>`: Azure OpenAI style callers (the openai SDK's AzureOpenAI client).
 *
 * A caller that sends two of them gets the first in the listener's order (its own protocol's header
 * first); the gateway never tries a second credential after the first is refused.
 */
import type { Protocol } from '../../protocols.js'

export type CredentialHeader = 'authorization' | 'x-api-key' | 'api-key'

/** Header names holding the caller's credential: never forwarded for an identified caller (upstream/headers.ts). */
export const CREDENTIAL_HEADERS: readonly CredentialHeader[] = Object.freeze(['authorization', 'x-api-key', 'api-key'])

export interface PresentedCredential {
  readonly value: string
  readonly header: CredentialHeader
}

export interface CredentialReader {
  /** Hot path: the first credential present, in the compiled order; undefined when there is none. */
  read(headers: Readonly<Record<string, string | undefined>>): PresentedCredential | undefined
  readonly order: readonly CredentialHeader[]
}

/** The default order for a listener: its protocol's own header first. */
export function credentialOrder(protocol: Protocol): readonly CredentialHeader[] {
  return protocol === 'anthropic' ? ['x-api-key', 'authorization', 'api-key'] : ['authorization', 'api-key', 'x-api-key']
}

/** `Bearer <token>` (scheme case-insensitive, RFC 9110 §11.1), or undefined for another scheme or an empty token. */
export function bearerToken(value: string): string | undefined {
  if (value.length < 8 || value.charCodeAt(6) !== 32 || value.slice(0, 6).toLowerCase() !== 'bearer') return undefined
  const token = value.slice(7).trim()
  return token === '' ? undefined : token
}

export function compileCredentialReader(order: readonly CredentialHeader[]): CredentialReader {
  const names = Object.freeze([...order])
  return {
    order: names,
    read(headers) {
      for (let i = 0; i < names.length; i++) {
        const name = names[i]
        const raw = headers[name]
        if (raw === undefined) continue
        // Another scheme (Basic, Digest) is not a credential for us; the next header may hold one.
        const value = name === 'authorization' ? bearerToken(raw) : raw.trim()
        if (value !== undefined && value !== '') return { value, header: name }
      }
      return undefined
    },
  }
}

/** Removes headers that must not be forwarded (a trusted proxy's tenant header); absent ones cost nothing. */
export function stripHeaders(headers: Record<string, string>, names: readonly string[]): void {
  for (const n of names) if (headers[n] !== undefined) delete headers[n]
}
