/**
 * The request body as the gateway routes on it: parsed JSON, its `model`, and the refusals that
 * keep the gateway and the provider reading the same request — a body that is not JSON, and a
 * top-level `model` or `stream` given twice (JSON.parse keeps the last, some providers the first,
 * so the gateway could route one model while the provider serves another).
 *
 * hot path -- change with care: three Buffer searches decide that the rare full scan is not needed.
 */
export interface ParsedBody {
  readonly json: any
  readonly model: string | undefined
  /** Set when the body must be refused with a 400: not JSON (SY_BAD_JSON) or ambiguous (SY_BAD_REQUEST). */
  readonly error?: { readonly code: 'SY_BAD_JSON' | 'SY_BAD_REQUEST'; readonly message: string }
}

const NONE: ParsedBody = { json: undefined, model: undefined }
const MODEL_KEY = Buffer.from('"model"')
const STREAM_KEY = Buffer.from('"stream"')
const UNICODE_ESCAPE = Buffer.from('\\u')

export function parseRequestBody(body: Buffer | undefined, contentType: string | undefined): ParsedBody {
  if (body === undefined || body.length === 0 || !wantsJson(contentType, body)) return NONE
  let json: any
  try {
    json = JSON.parse(body.toString('utf8'))
  } catch (e) {
    return { json: undefined, model: undefined, error: { code: 'SY_BAD_JSON', message: `request body is not valid JSON: ${(e as Error).message}` } }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return { json, model: undefined }
  const dup = mayRepeatRoutingKey(body) ? repeatedRoutingKey(body) : undefined
  if (dup !== undefined) return { json: undefined, model: undefined, error: { code: 'SY_BAD_REQUEST', message: `request body has more than one top-level '${dup}' key` } }
  return { json, model: typeof json.model === 'string' ? json.model : undefined }
}

function wantsJson(contentType: string | undefined, body: Buffer): boolean {
  // LLM APIs are JSON. Many hand-written calls (curl -d) send a form content-type with a JSON body;
  // accept those, but leave real non-JSON uploads (multipart audio, …) alone.
  if (contentType === undefined || contentType.includes('json')) return true
  let i = 0
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++
  return body[i] === 0x7b /* { */ || body[i] === 0x5b /* [ */
}

/** Cheap pre-check: a key can only repeat if its bytes occur twice, or if keys may be \u-escaped. */
function mayRepeatRoutingKey(body: Buffer): boolean {
  const m = body.indexOf(MODEL_KEY)
  if (m !== -1 && body.indexOf(MODEL_KEY, m + MODEL_KEY.length) !== -1) return true
  const s = body.indexOf(STREAM_KEY)
  if (s !== -1 && body.indexOf(STREAM_KEY, s + STREAM_KEY.length) !== -1) return true
  return body.indexOf(UNICODE_ESCAPE) !== -1
}

const ROUTING_KEYS = new Set(['model', 'stream'])

/**
 * Walks the top-level object of an already-valid JSON document and returns a routing key that
 * occurs more than once (escapes decoded), if any. Nested values are skipped, not decoded.
 */
export function repeatedRoutingKey(b: Buffer): string | undefined {
  let i = skipWs(b, 0)
  if (b[i] !== 0x7b) return undefined
  i = skipWs(b, i + 1)
  const seen = new Set<string>()
  while (i < b.length && b[i] !== 0x7d) {
    const end = stringEnd(b, i)
    const raw = b.subarray(i, end)
    const key = raw.includes(0x5c) ? (JSON.parse(raw.toString('utf8')) as string) : raw.toString('latin1', 1, raw.length - 1)
    if (ROUTING_KEYS.has(key)) {
      if (seen.has(key)) return key
      seen.add(key)
    }
    i = skipWs(b, end)
    i = skipWs(b, valueEnd(b, skipWs(b, i + 1))) // past ':' and the value
    if (b[i] === 0x2c) i = skipWs(b, i + 1)
  }
  return undefined
}

function skipWs(b: Buffer, i: number): number {
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++
  return i
}

/** `i` at an opening quote: index after the closing one. */
function stringEnd(b: Buffer, i: number): number {
  i++
  while (i < b.length) {
    const c = b[i]
    if (c === 0x22) return i + 1
    i += c === 0x5c ? 2 : 1
  }
  return i
}

function valueEnd(b: Buffer, i: number): number {
  const c = b[i]
  if (c === 0x22) return stringEnd(b, i)
  if (c !== 0x7b && c !== 0x5b) {
    while (i < b.length && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d && b[i] !== 0x20 && b[i] !== 0x0a && b[i] !== 0x0d && b[i] !== 0x09) i++
    return i
  }
  let depth = 0
  while (i < b.length) {
    const x = b[i]
    if (x === 0x22) { i = stringEnd(b, i); continue }
    if (x === 0x7b || x === 0x5b) depth++
    else if (x === 0x7d || x === 0x5d) {
      depth--
      if (depth === 0) return i + 1
    }
    i++
  }
  return i
}
