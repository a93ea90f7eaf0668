/**
 * The translation hub's vocabulary: its own types (normalized usage, a translated body) and the
 * wire shapes of the five protocols, one module each under wire/, re-exported here so that every
 * translator (and the few modules outside translate/ that name a shape) imports from one place.
 * The wire shapes are deliberately loose (extra fields pass through the type checker) because
 * upstreams add fields over time and a gateway must not choke on them.
 */

export type * from './wire/json.js'
export type * from './wire/openai-chat.js'
export type * from './wire/anthropic.js'
export type * from './wire/gemini.js'
export type * from './wire/bedrock.js'
export type * from './wire/responses.js'

/** Token usage in one vocabulary. `inputTokens` counts every prompt token, cached ones included
 *  (OpenAI's and Gemini's convention); `outputTokens` includes reasoning tokens. */
export interface NormalizedUsage {
  inputTokens: number
  outputTokens: number
  cachedInputTokens?: number
  /** Anthropic/Bedrock prompt-cache writes, when reported. Part of inputTokens. */
  cacheWriteInputTokens?: number
  reasoningTokens?: number
}

/** A translated request body plus the caller's parameters it could not carry. */
export interface Translated<T> {
  body: T
  /** Names of request parameters that were present but have no equivalent upstream. */
  dropped: string[]
}
