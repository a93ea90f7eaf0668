/**
 * The answers of the auth filters, in the caller's protocol, shaped as the providers' own APIs
 * send them so the official SDKs raise their own classes: `AuthenticationError` (401),
 * `PermissionDeniedError` (403), `RateLimitError` (429, whose retry honours Retry-After) and an
 * `InternalServerError` they retry (503). The SDKs pick the class by status; the bodies carry the
 * fields their error objects expose (`type`, `code`, `message`).
 *
 * - OpenAI 401: `{"error":{"message":…,"type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
 *   the live API's answer to a wrong key.
 * - OpenAI 403 for a model: `code: "model_not_found"` with status 403, as the live API answers a
 *   project that may not use a model; for anything else `code: "permission_denied"`.
 * - Anthropic: `{"type":"error","error":{"type":"authentication_error"|"permission_error"|"rate_limit_error"|"api_error","message":…}}`.
 *
 * Kept apart from errors.ts (the runtime catalog) until the auth filters are wired: the catalog's
 * OpenAI `code` is the lower-cased catalog name, and these codes must be the providers' own.
 * Factories prebuild their replies with these once per snapshot; only the 403 naming a model and
 * the 429 with its Retry-After are built per request, and only on refusal.
 */
import type { Protocol } from '../../protocols.js'
import type { LocalReply } from '../types.js'

export const IdentityErrors = {
  /** No credential, or one that is unknown, expired, disabled, mistyped or fails verification. */
  SY_UNAUTHENTICATED: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key', anthropicType: 'authentication_error' },
  /** Authenticated, but the tenant or key may not use the requested model. */
  SY_MODEL_FORBIDDEN: { status: 403, type: 'invalid_request_error', code: 'model_not_found', anthropicType: 'permission_error' },
  /** Authenticated, but the tenant may not use this route. */
  SY_FORBIDDEN: { status: 403, type: 'invalid_request_error', code: 'permission_denied', anthropicType: 'permission_error' },
  /** Too many failed authentications from this source address. */
  SY_AUTH_THROTTLED: { status: 429, type: 'requests', code: 'rate_limit_exceeded', anthropicType: 'rate_limit_error' },
  /** The credential could not be checked (the IdP's keys are unreachable): not the caller's fault. */
  SY_AUTH_UNAVAILABLE: { status: 503, type: 'server_error', code: 'auth_unavailable', anthropicType: 'api_error' },
} as const

export type IdentityErrorCode = keyof typeof IdentityErrors

/** Default messages; a filter may pass its own (never one quoting a credential). */
export const IdentityMessages = {
  missing: (protocol: Protocol) =>
    protocol === 'anthropic' ? 'x-api-key header is required' : "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
  invalid: 'Invalid API key or token.',
  model: (model: string) => `This key may not use model '${model}'.`,
  route: 'This key may not use this route.',
  throttled: 'Too many failed authentications from this address; try again later.',
  unavailable: 'Credentials cannot be checked right now; try again.',
} as const

export function identityErrorBody(protocol: Protocol, code: IdentityErrorCode, message: string): string {
  const e = IdentityErrors[code]
  if (protocol === 'anthropic') return JSON.stringify({ type: 'error', error: { type: e.anthropicType, message } })
  return JSON.stringify({ error: { message, type: e.type, param: null, code: e.code } })
}

/**
 * The reply for `code`. A 401 carries `WWW-Authenticate: Bearer` (RFC 9110 requires a challenge);
 * a 429 carries `Retry-After` in whole seconds (at least 1).
 */
export function identityReply(protocol: Protocol, code: IdentityErrorCode, message: string, retryAfterSec?: number): LocalReply {
  const headers: [string, string][] = [['content-type', 'application/json']]
  if (code === 'SY_UNAUTHENTICATED') headers.push(['www-authenticate', 'Bearer realm="switchyard"'])
  if (retryAfterSec !== undefined) headers.push(['retry-after', String(Math.max(1, Math.ceil(retryAfterSec)))])
  return { status: IdentityErrors[code].status, headers, body: Buffer.from(identityErrorBody(protocol, code, message)) }
}
