/**
 * Runtime error catalog: every `SY_*` code the data plane knows, with the HTTP status and the
 * OpenAI and Anthropic error types it answers with, and the one place the two error JSON shapes
 * are written (invariant 5). Gateway-made errors, relayed upstream errors and errors injected by
 * filters are all built here; docs/errors.md is generated from these tables
 * (test/docs/errors-doc.test.ts fails when the two disagree).
 */
import type { Protocol } from '../protocols.js'
import type { LocalReply } from './types.js'
import type { AnthropicErrorBody, OpenAIErrorBody } from './providers/translate/types.js'

/** One error the gateway answers itself, at a status of its own choosing. */
export interface CatalogEntry {
  readonly status: number
  /** OpenAI `error.type`. */
  readonly openaiType: string
  /** Anthropic `error.type`. */
  readonly anthropicType: string
  /** OpenAI `error.code`; the code in lower case when absent. */
  readonly openaiCode?: string | null
  /** The message, where it is always the same. */
  readonly message?: string
  /** What it means (docs/errors.md). */
  readonly means: string
}

export const RuntimeErrors = {
  SY_NO_ROUTE: { status: 404, openaiType: 'invalid_request_error', anthropicType: 'not_found_error', means: 'no route of the listener matches the request (method, path, headers, model)' },
  SY_BODY_TOO_LARGE: { status: 413, openaiType: 'invalid_request_error', anthropicType: 'request_too_large', means: "the request body exceeds the listener's max_body_bytes" },
  SY_BAD_JSON: { status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error', means: 'the request body is not valid JSON' },
  SY_BAD_REQUEST: { status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error', means: 'the request is ambiguous or unsafe to forward (a duplicate top-level key, a bad path or header)' },
  SY_UNSUPPORTED: { status: 404, openaiType: 'invalid_request_error', anthropicType: 'not_found_error', means: "the route's cluster cannot serve this operation (no such endpoint for its provider)" },
  SY_TRANSLATE_UNSUPPORTED: { status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error', openaiCode: null, means: "the request cannot be expressed in the upstream's protocol; `param` names the field" },
  SY_CORS_ORIGIN_NOT_ALLOWED: {
    status: 403, openaiType: 'invalid_request_error', anthropicType: 'permission_error', openaiCode: 'cors_origin_not_allowed',
    message: 'CORS preflight refused: this origin is not allowed (cors filter allow_origins)', means: "a CORS preflight from an origin the cors filter's allow_origins does not list",
  },
  // The auth filters' answers: the providers' own codes (an SDK shows `code`), so each is explicit.
  SY_UNAUTHENTICATED: {
    status: 401, openaiType: 'invalid_request_error', anthropicType: 'authentication_error', openaiCode: 'invalid_api_key',
    means: 'no credential, or an API key or JWT that is unknown, expired, disabled, mistyped or fails verification (api_key, jwt filters), or a tenant header from an untrusted source (trusted_header); carries `WWW-Authenticate`',
  },
  SY_MODEL_FORBIDDEN: {
    status: 403, openaiType: 'invalid_request_error', anthropicType: 'permission_error', openaiCode: 'model_not_found',
    means: "the caller's tenant or key may not use the requested model (`tenants[].models`, `keys[].models`); OpenAI answers a project that may not use a model the same way",
  },
  SY_FORBIDDEN: {
    status: 403, openaiType: 'invalid_request_error', anthropicType: 'permission_error', openaiCode: 'permission_denied',
    means: "the caller authenticated, but no rule of the listener serves its tenant for this request (a rule would match another tenant)",
  },
  SY_AUTH_THROTTLED: {
    status: 429, openaiType: 'requests', anthropicType: 'rate_limit_error', openaiCode: 'rate_limit_exceeded',
    means: 'too many failed authentications from this source address (the auth filter\'s `failures`); carries `Retry-After`',
  },
  SY_AUTH_UNAVAILABLE: {
    status: 503, openaiType: 'server_error', anthropicType: 'api_error', openaiCode: 'auth_unavailable',
    means: "a JWT cannot be checked because the identity provider's keys (JWKS) cannot be fetched: not the caller's fault",
  },
  // The rate_limit filter's answers, shaped as OpenAI's and Anthropic's own (the SDKs' RateLimitError, whose retry honours retry-after-ms).
  SY_RATE_LIMITED: {
    status: 429, openaiType: 'requests', anthropicType: 'rate_limit_error', openaiCode: 'rate_limit_exceeded',
    means: 'a request limit of the `rate_limit` filter, the tenant or the key is reached; carries `Retry-After`, `retry-after-ms` and the rate-limit headers',
  },
  SY_TOKENS_LIMITED: {
    status: 429, openaiType: 'tokens', anthropicType: 'rate_limit_error', openaiCode: 'rate_limit_exceeded',
    means: "a token or concurrency limit is reached: the request's reservation (estimated input + its output ceiling) does not fit now; carries `Retry-After`",
  },
  SY_REQUEST_TOO_LARGE: {
    status: 429, openaiType: 'tokens', anthropicType: 'rate_limit_error', openaiCode: 'rate_limit_exceeded',
    means: "the request's token reservation alone exceeds a token limit, so no wait helps (OpenAI's \"Request too large\"); carries `x-should-retry: false`: lower max_tokens or the input",
  },
  SY_QUOTA_EXCEEDED: {
    status: 429, openaiType: 'insufficient_quota', anthropicType: 'rate_limit_error', openaiCode: 'insufficient_quota',
    means: "the tenant's or key's budget for the day or month is spent (`budget`, priced by `prices`); carries `x-should-retry: false`",
  },
  SY_LIMITS_UNAVAILABLE: {
    status: 503, openaiType: 'server_error', anthropicType: 'api_error', openaiCode: 'limits_unavailable',
    means: "Redis cannot answer within `redis.command_timeout` and the `rate_limit` filter's `failure_mode` is `closed` (or the limit table is full)",
  },
  SY_NO_ENDPOINT: { status: 503, openaiType: 'server_error', anthropicType: 'overloaded_error', means: 'reserved, not raised today: a cluster whose endpoints are all unhealthy or ejected routes in panic mode instead' },
  SY_UPSTREAM_CONNECT: { status: 502, openaiType: 'server_error', anthropicType: 'api_error', means: 'the upstream call failed (connect, reset, or a refused answer below) and no retry or fallback took over' },
  SY_UPSTREAM_TIMEOUT: { status: 504, openaiType: 'timeout_error', anthropicType: 'timeout_error', means: 'the upstream did not answer within the route timeout, or stalled' },
  SY_OVERFLOW: { status: 503, openaiType: 'server_error', anthropicType: 'overloaded_error', means: 'the cluster is at its concurrency limit (circuit breaker)' },
  SY_SHUTTING_DOWN: { status: 503, openaiType: 'server_error', anthropicType: 'overloaded_error', means: 'the listener is being removed (a reload dropped it) while the request arrived' },
  SY_INTERNAL: { status: 500, openaiType: 'server_error', anthropicType: 'api_error', means: 'a bug inside the gateway; logged with the request id' },
  SY_WASM_TRAP: {
    status: 500, openaiType: 'server_error', anthropicType: 'api_error',
    means: "a WASM filter trapped (unreachable, out of fuel, out of bounds, memory limit) or broke the ABI while handling this request; only that request fails, counted in switchyard_wasm_plugin_traps_total and logged with the plugin's name, and the plugin's VM is re-created for later requests (an event stream already under way ends with an error event)",
  },
  // Plugin filters (docs/plugins.md).
  SY_PLUGIN_FAILED: {
    status: 500, openaiType: 'server_error', anthropicType: 'api_error', openaiCode: 'plugin_error',
    means: "a `plugin` filter's hook threw or rejected: that request fails (an error event on a stream under way), the message names the plugin; logged with the plugin's name and counted in `switchyard_plugin_errors_total`",
  },
  SY_PLUGIN_STOPPED: {
    status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error', openaiCode: 'plugin_stopped',
    means: "a `plugin` filter stopped an answer under way (ctx.reply() in onChunk, e.g. a keyword guard): the stream ends with this error event carrying the plugin's message, the upstream call is cancelled",
  },
  SY_SESSION_NOT_FOUND: {
    status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error', openaiCode: 'previous_response_not_found',
    means: "the Responses API request's `previous_response_id` is not in the `session` filter's store (never stored, expired, evicted, deleted, or another tenant's)",
  },
  SY_SESSION_INVALID: {
    status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error',
    means: 'the session id header (or `previous_response_id`) is empty, longer than 256 characters or has control characters',
  },
  SY_SESSION_UNAVAILABLE: {
    status: 503, openaiType: 'server_error', anthropicType: 'api_error', openaiCode: 'session_store_unavailable',
    means: "the `session` filter's store (Redis, or the process's memory store) did not answer in time: the turn is refused rather than answered without its history",
  },
  // The Batch API's answers (control/batches/, docs/batches.md).
  SY_BATCHES_UNAVAILABLE: {
    status: 503, openaiType: 'server_error', anthropicType: 'api_error', openaiCode: 'batches_unavailable',
    means: 'the batch service cannot answer now: NATS JetStream is unreachable (or still connecting), or the `batches` section was added without a restart',
  },
  SY_FILE_NOT_FOUND: { status: 404, openaiType: 'invalid_request_error', anthropicType: 'not_found_error', openaiCode: null, means: 'no file with this id (for this tenant)' },
  SY_BATCH_NOT_FOUND: { status: 404, openaiType: 'invalid_request_error', anthropicType: 'not_found_error', openaiCode: null, means: 'no batch with this id (for this tenant)' },
  SY_FILE_TOO_LARGE: { status: 413, openaiType: 'invalid_request_error', anthropicType: 'request_too_large', openaiCode: 'file_too_large', means: "the uploaded file exceeds `batches.max_file_size`" },
  SY_BATCH_INVALID: {
    status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error', openaiCode: 'invalid_request',
    means: 'a Batch API request that cannot be served: a missing or wrong field (`purpose`, `endpoint`, `completion_window`), an input file that is not a batch file, has no valid line or too many lines; `param` names the field',
  },
  SY_BATCH_DUPLICATE_CUSTOM_ID: {
    status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error', openaiCode: 'duplicate_custom_id',
    means: 'two lines of the input file share a `custom_id` (the output is matched to the input by it); the message names both line numbers',
  },
  SY_BATCH_NOT_CANCELLABLE: { status: 409, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error', openaiCode: 'batch_not_cancellable', means: 'cancel on a batch that has already ended (completed, failed, expired, cancelled)' },
  // The model registry's answers (runtime/models/, docs/models.md), given before any provider is called.
  SY_CONTEXT_LENGTH_EXCEEDED: {
    status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error', openaiCode: 'context_length_exceeded',
    means: "the request's estimated prompt exceeds the registered model's `context_window`, and the route has no `context_length` fallback whose model fits; `param` is `messages` (OpenAI's own code for this)",
  },
  SY_MODEL_CAPABILITY: {
    status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error', openaiCode: 'unsupported_parameter',
    means: 'the request uses a capability the registered model lacks (`capabilities`: tools, vision, json_mode, reasoning, streaming); the message names it and `param` the field',
  },
  SY_MAX_OUTPUT_EXCEEDED: {
    status: 400, openaiType: 'invalid_request_error', anthropicType: 'invalid_request_error', openaiCode: 'invalid_value',
    means: "the request's `max_tokens` (`max_completion_tokens`, `max_output_tokens`) is above the registered model's `max_output_tokens`; `param` names the field",
  },
  SY_MODEL_NOT_FOUND: {
    status: 404, openaiType: 'invalid_request_error', anthropicType: 'not_found_error', openaiCode: 'model_not_found',
    means: '`GET /v1/models/<id>` for a model the listener does not list',
  },
} as const satisfies Record<string, CatalogEntry>

export type RuntimeErrorCode = keyof typeof RuntimeErrors

/** An error at a status the gateway does not choose (a configured one): its types follow the status. */
export interface StatusTypedEntry {
  /** OpenAI `error.code`. */
  readonly openaiCode: string | null
  readonly openaiType: (status: number) => string
  readonly anthropicType: (status: number) => string
  readonly means: string
}

export const StatusTypedErrors = {
  // Coarser than a relayed upstream error's types (openAIErrorType): an injected 429 is an
  // invalid_request_error in OpenAI JSON, as it has always been (test/integration/faults asserts it).
  SY_FAULT_INJECTED: {
    openaiCode: 'fault_injected',
    openaiType: (status) => (status >= 500 ? 'server_error' : 'invalid_request_error'),
    anthropicType: (status) => (status >= 500 ? 'api_error' : status === 429 ? 'rate_limit_error' : 'invalid_request_error'),
    means: "the fault filter's abort, at its configured status",
  },
  // The two plugin replies type a status as a relayed upstream error is typed (one mapping:
  // openAIErrorType / anthropicErrorType), so a plugin's 401 is an authentication_error wherever it runs.
  SY_WASM_LOCAL_REPLY: {
    openaiCode: 'plugin_local_reply',
    openaiType: openAIErrorType,
    anthropicType: anthropicErrorType,
    means: "a WASM filter answered the request itself (proxy_send_local_response) without a body, at the status it chose; a plugin that gives a body is answered with that body as it is",
  },
  SY_PLUGIN_REPLY: {
    openaiCode: 'plugin_refused',
    openaiType: openAIErrorType,
    anthropicType: anthropicErrorType,
    means: "a `plugin` filter answered the request itself with ctx.reply(status, message), at the status it chose (400–599)",
  },
} as const satisfies Record<string, StatusTypedEntry>

export type StatusTypedErrorCode = keyof typeof StatusTypedErrors

/**
 * Why an upstream answer was refused although the transport delivered it. Each is an upstream
 * failure like a reset: retried or failed over before the client saw a byte, else answered as
 * `SY_UPSTREAM_CONNECT` (or an error event mid-stream) with the message, which is client-safe
 * (it never quotes the upstream's body).
 */
export const UpstreamFailures = {
  /** The answer ended before its protocol's end (no [DONE], no message_stop, no finish). */
  SY_TRUNCATED: 'the answer ended before it was complete',
  /** The body or an event is not what the protocol promises (broken JSON, an error object with a 200). */
  SY_MALFORMED: 'the answer is not a readable response',
  /** A continuation started the answer over instead of continuing it. */
  SY_RESTARTED: 'the fallback restarted the answer instead of continuing it; its answer was discarded',
  /** The fallback asked to continue a stream answered with a non-2xx status. */
  SY_CONTINUATION: 'the fallback refused to continue the stream',
  /** A body or event outgrew the gateway's limit for holding it. */
  SY_TOO_LARGE: 'the answer exceeds the gateway limit',
} as const

export type UpstreamFailureCode = keyof typeof UpstreamFailures

/**
 * A Bedrock event stream the decoder refuses (aws-event-stream.ts). Like a refused answer it is an
 * upstream failure, answered as `SY_UPSTREAM_CONNECT`, but with the generic transport message: the
 * code and byte offset are for the log only.
 */
export const EventStreamFailures = {
  SY_EVS_PRELUDE_CRC: "a frame's prelude CRC does not match",
  SY_EVS_MESSAGE_CRC: "a frame's message CRC does not match",
  SY_EVS_LENGTH: "a frame's lengths are impossible (corrupt, or above 16 MiB)",
  SY_EVS_HEADER: "a frame's headers cannot be read",
  SY_EVS_TRUNCATED: 'the stream ended inside a frame',
} as const

export type EventStreamFailureCode = keyof typeof EventStreamFailures

/** An upstream answer the gateway refuses (see UpstreamFailures); aborts the exchange with its code. */
export class RefusedAnswer extends Error {
  constructor(readonly code: UpstreamFailureCode, message: string = UpstreamFailures[code]) {
    super(message)
  }
}

export function isRefusedAnswer(e: unknown): e is RefusedAnswer {
  return e instanceof RefusedAnswer
}

// ---------------------------------------------------------------- status → type

/** The OpenAI error type an HTTP status stands for (relayed upstream errors, stream errors of translated streams). */
export function openAIErrorType(status: number): string {
  if (status === 401) return 'authentication_error'
  if (status === 403) return 'permission_error'
  if (status === 404) return 'not_found_error'
  if (status === 429) return 'rate_limit_error'
  if (status >= 500) return 'server_error'
  return 'invalid_request_error'
}

/**
 * The Anthropic error type an HTTP status stands for: the types Anthropic documents
 * (invalid_request_error 400, authentication_error 401, permission_error 403, not_found_error 404,
 * request_too_large 413, rate_limit_error 429, api_error 500, overloaded_error 529, and the
 * SDK's timeout_error 504).
 */
export function anthropicErrorType(status: number): string {
  if (status === 401) return 'authentication_error'
  if (status === 403) return 'permission_error'
  if (status === 404) return 'not_found_error'
  if (status === 413) return 'request_too_large'
  if (status === 429) return 'rate_limit_error'
  if (status === 529) return 'overloaded_error'
  if (status === 408 || status === 504) return 'timeout_error'
  if (status >= 500) return 'api_error'
  return 'invalid_request_error'
}

// ---------------------------------------------------------------- the two shapes

/** OpenAI error JSON: `{ error: { message, type, param, code } }`, in that key order. */
export function openAIErrorBody(message: string, type: string, param: string | null, code: string | null): OpenAIErrorBody {
  return { error: { message, type, param, code } }
}

/** Anthropic error JSON: `{ type: 'error', error: { type, message } }`. */
export function anthropicErrorBody(type: string, message: string): AnthropicErrorBody {
  return { type: 'error', error: { type, message } }
}

/**
 * The Responses API's `error` event fields: flat as the API reference documents them and nested
 * under `error` as the live API sends them (the openai SDK raises on the nested form).
 */
export function responsesErrorFields(type: string, code: string, message: string) {
  return { code, message, param: null, error: { type, code, message, param: null } }
}

const JSON_HEADERS = [['content-type', 'application/json']] as const

/** A whole error answer: the status and the body, as JSON. */
export function jsonErrorReply(status: number, body: OpenAIErrorBody | AnthropicErrorBody): LocalReply {
  return { status, headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(body)) }
}

// ---------------------------------------------------------------- catalog codes

function openAICode(code: RuntimeErrorCode): string | null {
  const e: CatalogEntry = RuntimeErrors[code]
  return e.openaiCode !== undefined ? e.openaiCode : code.toLowerCase()
}

function catalogBody(protocol: Protocol, code: RuntimeErrorCode, message: string, param: string | null): OpenAIErrorBody | AnthropicErrorBody {
  const e = RuntimeErrors[code]
  return protocol === 'anthropic' ? anthropicErrorBody(e.anthropicType, message) : openAIErrorBody(message, e.openaiType, param, openAICode(code))
}

/** The codes whose message is always the same: callers may leave it out. */
export type FixedMessageCode = { [K in RuntimeErrorCode]: (typeof RuntimeErrors)[K] extends { message: string } ? K : never }[RuntimeErrorCode]

function messageOf(code: RuntimeErrorCode, message: string | undefined): string {
  return message ?? (RuntimeErrors[code] as CatalogEntry).message ?? code
}

export function errorBody(protocol: Protocol, code: FixedMessageCode): string
export function errorBody(protocol: Protocol, code: RuntimeErrorCode, message: string, param?: string | null): string
export function errorBody(protocol: Protocol, code: RuntimeErrorCode, message?: string, param: string | null = null): string {
  return JSON.stringify(catalogBody(protocol, code, messageOf(code, message), param))
}

/** The answer for `code` in the caller's protocol; `param` names the offending field (OpenAI only). */
export function errorReply(protocol: Protocol, code: FixedMessageCode): LocalReply
export function errorReply(protocol: Protocol, code: RuntimeErrorCode, message: string, param?: string | null): LocalReply
export function errorReply(protocol: Protocol, code: RuntimeErrorCode, message?: string, param: string | null = null): LocalReply {
  return jsonErrorReply(RuntimeErrors[code].status, catalogBody(protocol, code, messageOf(code, message), param))
}

/** The answer for a status-typed code (see StatusTypedErrors) at `status`. */
export function statusErrorReply(protocol: Protocol, code: StatusTypedErrorCode, status: number, message: string): LocalReply {
  const e: StatusTypedEntry = StatusTypedErrors[code]
  const body = protocol === 'anthropic'
    ? anthropicErrorBody(e.anthropicType(status), message)
    : openAIErrorBody(message, e.openaiType(status), null, e.openaiCode)
  return jsonErrorReply(status, body)
}

/**
 * The Responses API's `error` event, for a /v1/responses stream that broke after it started (see
 * responsesErrorFields).
 */
export function responsesErrorEvent(code: RuntimeErrorCode, message: string): string {
  const c = code.toLowerCase()
  return `event: error\ndata: ${JSON.stringify({ type: 'error', ...responsesErrorFields(RuntimeErrors[code].openaiType, c, message) })}\n\n`
}

/** Body of an SSE event that ends a stream which broke after it started (OpenAI chunk-shaped error). */
export function streamErrorEvent(protocol: Protocol, code: RuntimeErrorCode, message: string): string {
  if (protocol === 'anthropic') return `event: error\ndata: ${errorBody(protocol, code, message)}\n\n`
  return `data: ${errorBody(protocol, code, message)}\n\n`
}
