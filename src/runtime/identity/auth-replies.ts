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
 * The codes, statuses and types are entries of the runtime catalog (errors.ts), which also writes
 * the bodies; this module adds the headers the answers need and the default messages.
 * Factories prebuild their replies with these once per snapshot; only the 403 naming a model and
 * the 429 with its Retry-After are built per request, and only on refusal.
 */
import type { Protocol } from '../../protocols.js'
import type { LocalReply } from '../types.js'
import { RuntimeErrors, errorBody, errorReply } from '../errors.js'

export const IdentityErrors = {
  SY_UNAUTHENTICATED: RuntimeErrors.SY_UNAUTHENTICATED,
  SY_MODEL_FORBIDDEN: RuntimeErrors.SY_MODEL_FORBIDDEN,
  SY_FORBIDDEN: RuntimeErrors.SY_FORBIDDEN,
  SY_AUTH_THROTTLED: RuntimeErrors.SY_AUTH_THROTTLED,
  SY_AUTH_UNAVAILABLE: RuntimeErrors.SY_AUTH_UNAVAILABLE,
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
  return errorBody(protocol, code, message)
}

/**
 * The reply for `code`. A 401 carries `WWW-Authenticate: Bearer` (RFC 9110 requires a challenge);
 * a 429 carries `Retry-After` in whole seconds (at least 1).
 */
export function identityReply(protocol: Protocol, code: IdentityErrorCode, message: string, retryAfterSec?: number): LocalReply {
  const base = errorReply(protocol, code, message)
  const headers: [string, string][] = [...base.headers as [string, string][]]
  if (code === 'SY_UNAUTHENTICATED') headers.push(['www-authenticate', 'Bearer realm="switchyard"'])
  if (retryAfterSec !== undefined) headers.push(['retry-after', String(Math.max(1, Math.ceil(retryAfterSec)))])
  return { status: base.status, headers, body: base.body }
}
