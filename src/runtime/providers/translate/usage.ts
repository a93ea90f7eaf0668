/**
 * Usage conversions. The providers disagree on what "input tokens" means:
 * - OpenAI `prompt_tokens` and Gemini `promptTokenCount` include cached tokens;
 * - Anthropic `input_tokens` and Bedrock `inputTokens` exclude cache reads and cache writes;
 * - Gemini `candidatesTokenCount` excludes thinking tokens (`thoughtsTokenCount`), while OpenAI
 *   `completion_tokens` includes reasoning tokens.
 * NormalizedUsage follows OpenAI: everything in, details as subsets.
 */
import type {
  AnthropicUsage, BedrockUsage, GeminiUsageMetadata, NormalizedUsage, OpenAIUsage,
} from './types.js'

const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)

function withDetails(u: NormalizedUsage, cached: number, cacheWrite: number, reasoning: number): NormalizedUsage {
  if (cached > 0) u.cachedInputTokens = cached
  if (cacheWrite > 0) u.cacheWriteInputTokens = cacheWrite
  if (reasoning > 0) u.reasoningTokens = reasoning
  return u
}

export function usageFromOpenAI(u: OpenAIUsage | null | undefined): NormalizedUsage {
  if (!u) return { inputTokens: 0, outputTokens: 0 }
  return withDetails(
    { inputTokens: n(u.prompt_tokens), outputTokens: n(u.completion_tokens) },
    n(u.prompt_tokens_details?.cached_tokens), 0, n(u.completion_tokens_details?.reasoning_tokens),
  )
}

export function usageFromAnthropic(u: Partial<AnthropicUsage> | null | undefined): NormalizedUsage {
  if (!u) return { inputTokens: 0, outputTokens: 0 }
  const read = n(u.cache_read_input_tokens)
  const write = n(u.cache_creation_input_tokens)
  return withDetails({ inputTokens: n(u.input_tokens) + read + write, outputTokens: n(u.output_tokens) }, read, write, 0)
}

export function usageFromGemini(u: GeminiUsageMetadata | null | undefined): NormalizedUsage {
  if (!u) return { inputTokens: 0, outputTokens: 0 }
  const thoughts = n(u.thoughtsTokenCount)
  return withDetails(
    { inputTokens: n(u.promptTokenCount), outputTokens: n(u.candidatesTokenCount) + thoughts },
    n(u.cachedContentTokenCount), 0, thoughts,
  )
}

export function usageFromBedrock(u: BedrockUsage | null | undefined): NormalizedUsage {
  if (!u) return { inputTokens: 0, outputTokens: 0 }
  const read = n(u.cacheReadInputTokens)
  const write = n(u.cacheWriteInputTokens)
  return withDetails({ inputTokens: n(u.inputTokens) + read + write, outputTokens: n(u.outputTokens) }, read, write, 0)
}

export function usageToOpenAI(u: NormalizedUsage): OpenAIUsage {
  const out: OpenAIUsage = {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cachedInputTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
  }
  return out
}

export function usageToAnthropic(u: NormalizedUsage): AnthropicUsage {
  const read = u.cachedInputTokens ?? 0
  const write = u.cacheWriteInputTokens ?? 0
  return {
    input_tokens: Math.max(0, u.inputTokens - read - write),
    output_tokens: u.outputTokens,
    cache_creation_input_tokens: write,
    cache_read_input_tokens: read,
  }
}
