/**
 * Runtime error catalog. Every gateway-made error answers in the listener's protocol
 * (OpenAI or Anthropic error JSON) with a stable code; no stack traces, no secrets.
 */
import type { Protocol } from '../compiler/ir.js'
import type { LocalReply } from './types.js'

export const RuntimeErrors = {
  SY_NO_ROUTE: { status: 404, type: 'invalid_request_error', anthropicType: 'not_found_error' },
  SY_BODY_TOO_LARGE: { status: 413, type: 'invalid_request_error', anthropicType: 'request_too_large' },
  SY_BAD_JSON: { status: 400, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  SY_BAD_REQUEST: { status: 400, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  SY_UNSUPPORTED: { status: 404, type: 'invalid_request_error', anthropicType: 'not_found_error' },
  SY_NO_ENDPOINT: { status: 503, type: 'server_error', anthropicType: 'overloaded_error' },
  SY_UPSTREAM_CONNECT: { status: 502, type: 'server_error', anthropicType: 'api_error' },
  SY_UPSTREAM_TIMEOUT: { status: 504, type: 'timeout_error', anthropicType: 'timeout_error' },
  SY_OVERFLOW: { status: 503, type: 'server_error', anthropicType: 'overloaded_error' },
  SY_SHUTTING_DOWN: { status: 503, type: 'server_error', anthropicType: 'overloaded_error' },
  SY_INTERNAL: { status: 500, type: 'server_error', anthropicType: 'api_error' },
} as const

export type RuntimeErrorCode = keyof typeof RuntimeErrors

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

/** An upstream answer the gateway refuses (see UpstreamFailures); aborts the exchange with its code. */
export class RefusedAnswer extends Error {
  constructor(readonly code: UpstreamFailureCode, message: string = UpstreamFailures[code]) {
    super(message)
  }
}

export function isRefusedAnswer(e: unknown): e is RefusedAnswer {
  return e instanceof RefusedAnswer
}

const JSON_HEADERS = [['content-type', 'application/json']] as const

export function errorBody(protocol: Protocol, code: RuntimeErrorCode, message: string): string {
  const e = RuntimeErrors[code]
  if (protocol === 'anthropic') return JSON.stringify({ type: 'error', error: { type: e.anthropicType, message } })
  return JSON.stringify({ error: { message, type: e.type, param: null, code: code.toLowerCase() } })
}

export function errorReply(protocol: Protocol, code: RuntimeErrorCode, message: string): LocalReply {
  return { status: RuntimeErrors[code].status, headers: JSON_HEADERS, body: Buffer.from(errorBody(protocol, code, message)) }
}

/**
 * The Responses API's `error` event, for a /v1/responses stream that broke after it started: the
 * fields flat as the API reference documents them and nested under `error` as the live API sends
 * them (the openai SDK raises on the nested form).
 */
export function responsesErrorEvent(code: RuntimeErrorCode, message: string): string {
  const e = RuntimeErrors[code]
  const c = code.toLowerCase()
  return `event: error\ndata: ${JSON.stringify({ type: 'error', code: c, message, param: null, error: { type: e.type, code: c, message, param: null } })}\n\n`
}

/** Body of an SSE event that ends a stream which broke after it started (OpenAI chunk-shaped error). */
export function streamErrorEvent(protocol: Protocol, code: RuntimeErrorCode, message: string): string {
  if (protocol === 'anthropic') return `event: error\ndata: ${errorBody(protocol, code, message)}\n\n`
  return `data: ${errorBody(protocol, code, message)}\n\n`
}
