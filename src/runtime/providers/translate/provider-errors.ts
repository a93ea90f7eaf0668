/**
 * Upstream error → caller error. An upstream answers in its own dialect (status, JSON shape,
 * headers); `parseUpstreamError` reduces it to a kind plus the provider's message, and
 * `toOpenAIError` / `toAnthropicError` say it again in the caller's protocol (invariant 5).
 * Only the error path runs this code, so clarity wins over speed here.
 */
import type { AnthropicErrorBody, OpenAIErrorBody } from './types.js'
import type { Protocol, UpstreamProtocol } from '../../../protocols.js'
import { anthropicErrorBody, anthropicErrorType, openAIErrorBody, openAIErrorType } from '../../errors.js'

export type ErrorKind =
  | 'invalid_request'
  | 'context_length'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'timeout'
  | 'request_too_large'
  | 'rate_limit'
  | 'overloaded'
  | 'server'
  | 'unavailable'

export interface UpstreamError {
  kind: ErrorKind
  /** The upstream's HTTP status. */
  status: number
  /** The upstream's message, with anything key-like redacted. */
  message: string
  retryAfterSeconds?: number
  /** The upstream's own error type/code (`rate_limit_error`, `ThrottlingException`, `RESOURCE_EXHAUSTED`…). */
  upstreamType?: string
  param?: string | null
}

export interface CallerError<B> {
  status: number
  headers: Record<string, string>
  body: B
}

export type HeaderBag = Record<string, string | string[] | undefined> | Headers

function header(h: HeaderBag | undefined, name: string): string | undefined {
  if (!h) return undefined
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined
  const rec = h as Record<string, string | string[] | undefined>
  const v = rec[name] ?? rec[Object.keys(rec).find((k) => k.toLowerCase() === name) ?? '']
  return Array.isArray(v) ? v[0] : v
}

const CONTEXT_LENGTH = /prompt is too long|maximum context length|context[_ ]length|context window|input is too long|too many input tokens|input token count.*exceeds/i
const SECRETS = /\b(sk-[A-Za-z0-9_\-*]{6,}|sk-ant-[A-Za-z0-9_\-*]{6,}|AIza[0-9A-Za-z_\-]{20,}|(?:AKIA|ASIA)[0-9A-Z]{16})/g

function redact(message: string): string {
  return message.replace(SECRETS, '[redacted]')
}

function kindFromStatus(status: number): ErrorKind {
  if (status === 401) return 'authentication'
  if (status === 403) return 'permission'
  if (status === 404) return 'not_found'
  if (status === 408 || status === 504) return 'timeout'
  if (status === 413) return 'request_too_large'
  if (status === 429) return 'rate_limit'
  if (status === 529) return 'overloaded'
  if (status === 503) return 'unavailable'
  if (status >= 500) return 'server'
  return 'invalid_request'
}

const ANTHROPIC_KINDS: Record<string, ErrorKind> = {
  invalid_request_error: 'invalid_request',
  authentication_error: 'authentication',
  permission_error: 'permission',
  not_found_error: 'not_found',
  request_too_large: 'request_too_large',
  rate_limit_error: 'rate_limit',
  api_error: 'server',
  overloaded_error: 'overloaded',
  timeout_error: 'timeout',
}

const GEMINI_KINDS: Record<string, ErrorKind> = {
  INVALID_ARGUMENT: 'invalid_request',
  FAILED_PRECONDITION: 'invalid_request',
  OUT_OF_RANGE: 'invalid_request',
  UNAUTHENTICATED: 'authentication',
  PERMISSION_DENIED: 'permission',
  NOT_FOUND: 'not_found',
  RESOURCE_EXHAUSTED: 'rate_limit',
  DEADLINE_EXCEEDED: 'timeout',
  INTERNAL: 'server',
  UNAVAILABLE: 'unavailable',
}

/** Bedrock exception names, in HTTP responses (x-amzn-ErrorType) and in stream exception events. */
const BEDROCK_KINDS: Record<string, ErrorKind> = {
  validationexception: 'invalid_request',
  accessdeniedexception: 'permission',
  unrecognizedclientexception: 'authentication',
  invalidsignatureexception: 'authentication',
  missingauthenticationtokenexception: 'authentication',
  expiredtokenexception: 'authentication',
  incompletesignature: 'authentication',
  resourcenotfoundexception: 'not_found',
  throttlingexception: 'rate_limit',
  servicequotaexceededexception: 'rate_limit',
  modelnotreadyexception: 'unavailable',
  modeltimeoutexception: 'timeout',
  serviceunavailableexception: 'unavailable',
  internalserverexception: 'server',
  modelerrorexception: 'server',
  modelstreamerrorexception: 'server',
}

/** Bedrock's HTTP statuses for its exceptions, used for exceptions that arrive inside a stream. */
const KIND_STATUS: Record<ErrorKind, number> = {
  invalid_request: 400,
  context_length: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  timeout: 408,
  request_too_large: 413,
  rate_limit: 429,
  overloaded: 529,
  server: 500,
  unavailable: 503,
}

function parseBody(body: unknown): unknown {
  if (body === undefined || body === null) return undefined
  if (typeof body === 'object' && !(body instanceof Uint8Array)) return body
  const text = typeof body === 'string' ? body : Buffer.from(body as Uint8Array).toString('utf8')
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function retryAfterFrom(h: HeaderBag | undefined): number | undefined {
  const ms = header(h, 'retry-after-ms')
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms) / 1000)
  const ra = header(h, 'retry-after')
  if (!ra) return undefined
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.ceil(Number(ra))
  const at = Date.parse(ra)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000))
}

/** Gemini puts the delay in a google.rpc.RetryInfo detail: `"retryDelay": "37s"`. */
function geminiRetryDelay(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined
  for (const d of details) {
    const delay = (d as { retryDelay?: unknown })?.retryDelay
    if (typeof delay === 'string') {
      const m = /^(\d+(?:\.\d+)?)s$/.exec(delay)
      if (m) return Math.ceil(Number(m[1]))
    }
  }
  return undefined
}

function geminiReason(details: unknown): string | undefined {
  if (!Array.isArray(details)) return undefined
  for (const d of details) {
    const reason = (d as { reason?: unknown })?.reason
    if (typeof reason === 'string') return reason
  }
  return undefined
}

/**
 * Reads an upstream error response. `headers` may be a fetch `Headers` or a plain object
 * (undici and node:http lower-case the names).
 */
export function parseUpstreamError(
  provider: UpstreamProtocol,
  status: number,
  rawBody?: unknown,
  headers?: HeaderBag,
): UpstreamError {
  const body = parseBody(rawBody)
  let kind = kindFromStatus(status)
  let message = ''
  let upstreamType: string | undefined
  let param: string | null | undefined
  let retryAfterSeconds = retryAfterFrom(headers)

  const obj = typeof body === 'object' && body !== null ? (body as Record<string, any>) : undefined
  if (provider === 'openai' && obj?.error && typeof obj.error === 'object') {
    message = String(obj.error.message ?? '')
    upstreamType = obj.error.code ?? obj.error.type ?? undefined
    param = obj.error.param ?? null
    if (obj.error.code === 'context_length_exceeded') kind = 'context_length'
  } else if (provider === 'anthropic' && obj?.error && typeof obj.error === 'object') {
    message = String(obj.error.message ?? '')
    upstreamType = obj.error.type
    if (upstreamType && ANTHROPIC_KINDS[upstreamType]) kind = ANTHROPIC_KINDS[upstreamType]!
  } else if (provider === 'gemini') {
    // generateContent errors come as an object, streamGenerateContent (JSON array mode) as [object].
    const err = (Array.isArray(body) ? body[0]?.error : obj?.error) as Record<string, any> | undefined
    if (err) {
      message = String(err.message ?? '')
      upstreamType = err.status
      if (upstreamType && GEMINI_KINDS[upstreamType]) kind = GEMINI_KINDS[upstreamType]!
      if (geminiReason(err.details) === 'API_KEY_INVALID') kind = 'authentication'
      retryAfterSeconds ??= geminiRetryDelay(err.details)
    }
  } else if (provider === 'bedrock') {
    const t = header(headers, 'x-amzn-errortype') ?? obj?.__type ?? obj?.code
    if (typeof t === 'string') {
      upstreamType = t.split(':')[0]!.split('#').pop()!
      const k = BEDROCK_KINDS[upstreamType.toLowerCase()]
      if (k) kind = k
    }
    message = String(obj?.message ?? obj?.Message ?? '')
  }
  if (!message) {
    message = typeof body === 'string' && body.trim() ? body.trim().slice(0, 500) : `upstream ${provider} returned HTTP ${status}`
  }
  if ((kind === 'invalid_request' || kind === 'request_too_large') && CONTEXT_LENGTH.test(message)) kind = 'context_length'
  const out: UpstreamError = { kind, status, message: redact(message) }
  if (retryAfterSeconds !== undefined) out.retryAfterSeconds = retryAfterSeconds
  if (upstreamType) out.upstreamType = upstreamType
  if (param !== undefined) out.param = param
  return out
}

/** The HTTP status an Anthropic stream `error` event's type stands for. */
export function statusOfAnthropicErrorType(type: string): number {
  const k = ANTHROPIC_KINDS[type]
  return k ? KIND_STATUS[k] : 500
}

/** The HTTP status a Bedrock exception name stands for (`throttlingException` → 429). */
export function statusOfBedrockException(name: string): number {
  const k = BEDROCK_KINDS[name.toLowerCase()]
  return k ? KIND_STATUS[k] : 500
}

// ---------------------------------------------------------------- caller side

function callerStatus(e: UpstreamError, overloaded: number): number {
  if (e.kind === 'overloaded') return overloaded
  // Keep the upstream's own 5xx (500/502/504…) where it says more than our kind does.
  if ((e.kind === 'server' || e.kind === 'timeout') && e.status >= 500 && e.status !== 529) return e.status
  return KIND_STATUS[e.kind]
}

function retryHeaders(e: UpstreamError): Record<string, string> {
  return e.retryAfterSeconds !== undefined ? { 'retry-after': String(e.retryAfterSeconds) } : {}
}

const OPENAI_CODES: Partial<Record<ErrorKind, string>> = {
  context_length: 'context_length_exceeded',
  authentication: 'invalid_api_key',
  rate_limit: 'rate_limit_exceeded',
  request_too_large: 'request_too_large',
  not_found: 'not_found',
  timeout: 'timeout',
}

export function toOpenAIError(e: UpstreamError): CallerError<OpenAIErrorBody> {
  // Anthropic's 529 has no OpenAI twin; 503 is what OpenAI clients retry on.
  const status = callerStatus(e, 503)
  const param = e.kind === 'context_length' ? e.param ?? 'messages' : e.param ?? null
  return {
    status,
    headers: retryHeaders(e),
    body: openAIErrorBody(e.message, openAIErrorType(status), param, OPENAI_CODES[e.kind] ?? null),
  }
}

export function toAnthropicError(e: UpstreamError): CallerError<AnthropicErrorBody> {
  const status = callerStatus(e, 529)
  return {
    status,
    headers: retryHeaders(e),
    body: anthropicErrorBody(anthropicErrorType(status), e.message),
  }
}

/** A gateway-made error (e.g. a TranslationError) in the caller's protocol. */
export function callerError(caller: Protocol, status: number, message: string, param: string | null = null) {
  const e: UpstreamError = { kind: kindFromStatus(status), status, message, param }
  return caller === 'openai' ? toOpenAIError(e) : toAnthropicError(e)
}
