/**
 * The token reservation a request makes before it is forwarded: its input estimated from the raw
 * body bytes, plus its output ceiling (`max_tokens`, `max_completion_tokens`, `max_output_tokens`,
 * or a configured default). The estimate only has to be cheap and rarely low: the reservation is
 * replaced by the provider's reported usage when the answer ends, so an over-estimate costs a
 * little capacity for the length of one request, while an under-estimate lets a burst of requests
 * overshoot a token limit by the difference.
 *
 * How: one pass over the UTF-8 bytes (four at a time while they are ASCII), no decoding and no
 * JSON parse. ASCII counts a quarter token per byte (BPE vocabularies average ~4 characters per
 * token on English and code); a 2-byte character (Latin accents, Cyrillic, Greek, Hebrew, Arabic)
 * 3/8; a 3-byte one (CJK, Indic) 7/8; a 4-byte one (emoji) two. The JSON around the text (keys, quotes) is counted
 * too, which stands in for the chat template's per-message tokens. Inline base64 data
 * (`;base64,…`, images and documents) is skipped and counted as a flat IMAGE_TOKENS each, since its
 * byte length says nothing about its token cost. Cost and error: docs/limits.md.
 */
import type { TokenAsk } from './types.js'

/** A high-detail 1024² image is 765 tokens at OpenAI, ~1,600 at Anthropic: reserve the larger. */
export const IMAGE_TOKENS = 1600

const BASE64 = Buffer.from(';base64,')
const QUOTE = 0x22

/** Weights in eighths of a token (calibrated against o200k, docs/limits.md). */
const ASCII = 2
const TWO_BYTE = 3
const THREE_BYTE = 7
const FOUR_BYTE = 16

/** Eighths of a token for bytes [from, end): four ASCII bytes at a time while they last. */
function eighths(buf: Buffer, from: number, end: number): number {
  let n = 0
  let i = from
  // Align to 4 bytes in the underlying ArrayBuffer, then read whole words.
  while (i < end && (buf.byteOffset + i) % 4 !== 0) n += weight(buf[i++])
  const words = Math.floor((end - i) / 4)
  if (words > 0) {
    const w = new Uint32Array(buf.buffer, buf.byteOffset + i, words)
    for (let k = 0; k < words; k++) {
      if ((w[k] & 0x80808080) === 0) {
        n += 4 * ASCII
        continue
      }
      const at = i + k * 4
      n += weight(buf[at]) + weight(buf[at + 1]) + weight(buf[at + 2]) + weight(buf[at + 3])
    }
    i += words * 4
  }
  while (i < end) n += weight(buf[i++])
  return n
}

/** A byte's share: ASCII, or a lead byte carrying its character; continuation bytes count 0. */
function weight(b: number): number {
  if (b < 0x80) return ASCII
  if (b >= 0xf0) return FOUR_BYTE
  if (b >= 0xe0) return THREE_BYTE
  if (b >= 0xc0) return TWO_BYTE
  return 0
}

/** Input tokens a chat / messages / responses request body will probably cost (an estimate). */
export function estimateInputTokens(body: Uint8Array): number {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  let n = 0
  let images = 0
  let from = 0
  for (;;) {
    const at = buf.indexOf(BASE64, from)
    n += eighths(buf, from, at < 0 ? buf.length : at)
    if (at < 0) break
    images++
    const close = buf.indexOf(QUOTE, at + BASE64.length)
    if (close < 0) break
    from = close
  }
  return Math.ceil(n / 8) + images * IMAGE_TOKENS
}

/** The output ceiling the request declares, in any of the three APIs' spellings, else `fallback`. */
export function outputCeiling(body: unknown, fallback: number): number {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>
    const v = b.max_completion_tokens ?? b.max_tokens ?? b.max_output_tokens
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.ceil(v)
  }
  return fallback
}

/**
 * The reservation for one request. `parsed` is the body as the gateway already parsed it (for
 * model routing), or undefined; `defaultMaxOutput` is the filter's configured default for
 * requests that declare no ceiling.
 */
export function estimateAsk(raw: Uint8Array, parsed: unknown, defaultMaxOutput: number): TokenAsk {
  return { inputTokens: estimateInputTokens(raw), outputTokens: outputCeiling(parsed, defaultMaxOutput) }
}
