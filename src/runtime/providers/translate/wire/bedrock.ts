/** Bedrock Converse / ConverseStream: request, response, decoded stream events.
 *  Loose on purpose, like every wire shape (see ../types.ts). */
import type { JsonObject } from './json.js'

export type BedrockContentBlock =
  | { text: string }
  | { image: { format: 'png' | 'jpeg' | 'gif' | 'webp'; source: { bytes: string } } }
  | { document: { format: string; name: string; source: { bytes: string } } }
  | { toolUse: { toolUseId: string; name: string; input: unknown } }
  | {
      toolResult: {
        toolUseId: string
        content: ({ text: string } | { json: unknown } | { image: { format: string; source: { bytes: string } } })[]
        status?: 'success' | 'error'
      }
    }
  | { reasoningContent: { reasoningText?: { text: string; signature?: string }; redactedContent?: string } }

export interface BedrockMessage {
  role: 'user' | 'assistant'
  content: BedrockContentBlock[]
}

export interface BedrockRequest {
  messages: BedrockMessage[]
  system?: { text: string }[]
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number; stopSequences?: string[] }
  toolConfig?: {
    tools: { toolSpec: { name: string; description?: string; inputSchema: { json: JsonObject } } }[]
    toolChoice?: { auto: JsonObject } | { any: JsonObject } | { tool: { name: string } }
  }
  additionalModelRequestFields?: JsonObject
  [k: string]: unknown
}

export type BedrockStopReason =
  | 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'guardrail_intervened' | 'content_filtered'
  | 'model_context_window_exceeded' | (string & {})

export interface BedrockUsage {
  inputTokens: number
  outputTokens: number
  totalTokens: number
  cacheReadInputTokens?: number
  cacheWriteInputTokens?: number
}

export interface BedrockResponse {
  output: { message: BedrockMessage }
  stopReason: BedrockStopReason
  usage: BedrockUsage
  metrics?: { latencyMs: number }
}

/** One decoded ConverseStream event: the `:event-type` header and its JSON payload. */
export type BedrockStreamEvent =
  | { type: 'messageStart'; body: { role: 'assistant' } }
  | { type: 'contentBlockStart'; body: { contentBlockIndex: number; start?: { toolUse?: { toolUseId: string; name: string } } } }
  | {
      type: 'contentBlockDelta'
      body: {
        contentBlockIndex: number
        delta: { text?: string; toolUse?: { input: string }; reasoningContent?: { text?: string; signature?: string } }
      }
    }
  | { type: 'contentBlockStop'; body: { contentBlockIndex: number } }
  | { type: 'messageStop'; body: { stopReason: BedrockStopReason; additionalModelResponseFields?: unknown } }
  | { type: 'metadata'; body: { usage: BedrockUsage; metrics?: { latencyMs: number } } }
  | { type: 'exception'; exceptionType: string; body: { message?: string } }
