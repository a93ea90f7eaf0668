/**
 * The `mock` provider's POST /v1/embeddings: deterministic vectors with no model behind them, so a
 * semantic cache can be demonstrated and tested without keys. Each input's vector is a hashed bag
 * of its words (lower-cased, punctuation dropped): every word adds ±1 to one of `dimensions`
 * coordinates (default 64; the request's own `dimensions` wins), then the vector is scaled to unit
 * length. Texts sharing most of their words are close (a reworded question keeps most of them);
 * texts sharing none are near-orthogonal. OpenAI's response shape, usage counting words.
 */
import type { RequestContext } from '../types.js'
import { sendError, sendReply } from '../http/respond.js'
import { fnv1a, mix32 } from '../../shared/string-hash.js'

export const MOCK_EMBEDDING_DIMENSIONS = 64

export function answerEmbeddings(ctx: RequestContext): void {
  const req = ctx.json ?? {}
  const inputs = typeof req.input === 'string' ? [req.input] : Array.isArray(req.input) && req.input.every((s: unknown) => typeof s === 'string') ? (req.input as string[]) : undefined
  if (inputs === undefined) return sendError(ctx, 'SY_BAD_REQUEST', "the mock provider embeds 'input' given as a string or an array of strings")
  const dims = Number.isInteger(req.dimensions) && req.dimensions > 0 && req.dimensions <= 4096 ? (req.dimensions as number) : MOCK_EMBEDDING_DIMENSIONS
  let tokens = 0
  const data = inputs.map((text, index) => {
    const words = wordsOf(text)
    tokens += words.length
    return { object: 'embedding', index, embedding: Array.from(mockEmbedding(words, dims)) }
  })
  const body = { object: 'list', data, model: typeof req.model === 'string' ? req.model : 'mock', usage: { prompt_tokens: tokens, total_tokens: tokens } }
  ctx.usage = { inputTokens: tokens, outputTokens: 0 }
  sendReply(ctx, { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(JSON.stringify(body)) })
}

/** The vector of `text` (exported for tests that need to know what the mock will answer). */
export function mockEmbedding(words: readonly string[] | string, dims = MOCK_EMBEDDING_DIMENSIONS): Float32Array {
  const v = new Float32Array(dims)
  for (const w of typeof words === 'string' ? wordsOf(words) : words) {
    const h = mix32(fnv1a(w))
    v[h % dims] += h & 0x80000000 ? -1 : 1
  }
  let norm = 0
  for (let i = 0; i < dims; i++) norm += v[i] * v[i]
  if (norm > 0) for (let i = 0, s = 1 / Math.sqrt(norm); i < dims; i++) v[i] *= s
  return v
}

function wordsOf(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean)
}
