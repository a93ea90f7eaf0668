/**
 * Wire shapes of the four protocols, as far as the translators read or write them. They are
 * deliberately loose (extra fields pass through the type checker) because upstreams add fields
 * over time and a gateway must not choke on them.
 */

// ---------------------------------------------------------------- shared

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

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call'
export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal'

/** A translated request body plus the caller's parameters it could not carry. */
export interface Translated<T> {
  body: T
  /** Names of request parameters that were present but have no equivalent upstream. */
  dropped: string[]
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
export type JsonObject = { [k: string]: unknown }

// ---------------------------------------------------------------- OpenAI Chat Completions

export interface OpenAITextPart { type: 'text'; text: string }
export interface OpenAIImagePart { type: 'image_url'; image_url: { url: string; detail?: 'auto' | 'low' | 'high' } }
export interface OpenAIFilePart { type: 'file'; file: { file_data?: string; file_id?: string; filename?: string } }
export interface OpenAIAudioPart { type: 'input_audio'; input_audio: { data: string; format: string } }
export interface OpenAIRefusalPart { type: 'refusal'; refusal: string }
export type OpenAIContentPart = OpenAITextPart | OpenAIImagePart | OpenAIFilePart | OpenAIAudioPart | OpenAIRefusalPart

export interface OpenAIToolCall {
  id: string
  type: 'function'
  function: { name: string; arguments: string }
}

export type OpenAIMessage =
  | { role: 'system' | 'developer'; content: string | OpenAITextPart[]; name?: string }
  | { role: 'user'; content: string | OpenAIContentPart[]; name?: string }
  | {
      role: 'assistant'
      content?: string | (OpenAITextPart | OpenAIRefusalPart)[] | null
      tool_calls?: OpenAIToolCall[]
      refusal?: string | null
      name?: string
    }
  | { role: 'tool'; content: string | OpenAITextPart[]; tool_call_id: string }

export interface OpenAIFunctionTool {
  type: 'function'
  function: { name: string; description?: string; parameters?: JsonObject; strict?: boolean | null }
}

export type OpenAIToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | { type: 'function'; function: { name: string } }

export type OpenAIResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; description?: string; schema?: JsonObject; strict?: boolean | null } }

export interface OpenAIChatRequest {
  model: string
  messages: OpenAIMessage[]
  max_tokens?: number | null
  max_completion_tokens?: number | null
  temperature?: number | null
  top_p?: number | null
  n?: number | null
  stop?: string | string[] | null
  stream?: boolean | null
  stream_options?: { include_usage?: boolean } | null
  tools?: OpenAIFunctionTool[]
  tool_choice?: OpenAIToolChoice
  parallel_tool_calls?: boolean
  response_format?: OpenAIResponseFormat
  user?: string
  seed?: number | null
  presence_penalty?: number | null
  frequency_penalty?: number | null
  [k: string]: unknown
}

export interface OpenAIUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details?: { cached_tokens?: number; audio_tokens?: number } | null
  completion_tokens_details?: { reasoning_tokens?: number; audio_tokens?: number; accepted_prediction_tokens?: number; rejected_prediction_tokens?: number } | null
}

export interface OpenAIChatResponse {
  id: string
  object: 'chat.completion'
  created: number
  model: string
  choices: {
    index: number
    message: { role: 'assistant'; content: string | null; tool_calls?: OpenAIToolCall[]; refusal?: string | null }
    finish_reason: OpenAIFinishReason | null
    logprobs?: unknown
  }[]
  usage?: OpenAIUsage
  system_fingerprint?: string | null
  [k: string]: unknown
}

export interface OpenAIToolCallDelta {
  index: number
  id?: string
  type?: 'function'
  function?: { name?: string; arguments?: string }
}

export interface OpenAIChunkDelta {
  role?: 'assistant'
  content?: string | null
  refusal?: string | null
  tool_calls?: OpenAIToolCallDelta[]
}

export interface OpenAIChunk {
  id: string
  object: 'chat.completion.chunk'
  created: number
  model: string
  choices: { index: number; delta: OpenAIChunkDelta; finish_reason: OpenAIFinishReason | null; logprobs?: unknown }[]
  usage?: OpenAIUsage | null
  system_fingerprint?: string | null
  [k: string]: unknown
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

// ---------------------------------------------------------------- Anthropic Messages

export type AnthropicImageSource =
  | { type: 'base64'; media_type: string; data: string }
  | { type: 'url'; url: string }

export interface AnthropicTextBlock { type: 'text'; text: string; cache_control?: unknown }
export interface AnthropicImageBlock { type: 'image'; source: AnthropicImageSource; cache_control?: unknown }
export interface AnthropicDocumentBlock {
  type: 'document'
  source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string } | { type: 'text'; media_type: string; data: string }
  title?: string
}
export interface AnthropicToolUseBlock { type: 'tool_use'; id: string; name: string; input: unknown }
export interface AnthropicToolResultBlock {
  type: 'tool_result'
  tool_use_id: string
  content?: string | (AnthropicTextBlock | AnthropicImageBlock)[]
  is_error?: boolean
}
export interface AnthropicThinkingBlock { type: 'thinking'; thinking: string; signature?: string }
export interface AnthropicRedactedThinkingBlock { type: 'redacted_thinking'; data: string }

export type AnthropicContentBlock =
  | AnthropicTextBlock
  | AnthropicImageBlock
  | AnthropicDocumentBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock
  | AnthropicThinkingBlock
  | AnthropicRedactedThinkingBlock

export interface AnthropicMessage {
  role: 'user' | 'assistant'
  content: string | AnthropicContentBlock[]
}

export interface AnthropicTool {
  name: string
  description?: string
  input_schema: JsonObject
  type?: string
}

export type AnthropicToolChoice =
  | { type: 'auto'; disable_parallel_tool_use?: boolean }
  | { type: 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' }

export interface AnthropicRequest {
  model: string
  messages: AnthropicMessage[]
  max_tokens: number
  system?: string | AnthropicTextBlock[]
  stop_sequences?: string[]
  stream?: boolean
  temperature?: number
  top_p?: number
  top_k?: number
  tools?: AnthropicTool[]
  tool_choice?: AnthropicToolChoice
  metadata?: { user_id?: string }
  [k: string]: unknown
}

export interface AnthropicUsage {
  input_tokens: number
  output_tokens: number
  cache_creation_input_tokens?: number | null
  cache_read_input_tokens?: number | null
  [k: string]: unknown
}

export interface AnthropicResponse {
  id: string
  type: 'message'
  role: 'assistant'
  model: string
  content: AnthropicContentBlock[]
  stop_reason: AnthropicStopReason | null
  stop_sequence: string | null
  usage: AnthropicUsage
}

export type AnthropicStreamEvent =
  | { type: 'message_start'; message: AnthropicResponse }
  | { type: 'content_block_start'; index: number; content_block: AnthropicContentBlock }
  | {
      type: 'content_block_delta'
      index: number
      delta:
        | { type: 'text_delta'; text: string }
        | { type: 'input_json_delta'; partial_json: string }
        | { type: 'thinking_delta'; thinking: string }
        | { type: 'signature_delta'; signature: string }
        | { type: 'citations_delta'; citation: unknown }
    }
  | { type: 'content_block_stop'; index: number }
  | { type: 'message_delta'; delta: { stop_reason: AnthropicStopReason | null; stop_sequence: string | null }; usage: Partial<AnthropicUsage> }
  | { type: 'message_stop' }
  | { type: 'ping' }
  | { type: 'error'; error: { type: string; message: string } }

export interface AnthropicErrorBody {
  type: 'error'
  error: { type: string; message: string }
}

// ---------------------------------------------------------------- Gemini generateContent

export interface GeminiPart {
  text?: string
  thought?: boolean
  thoughtSignature?: string
  inlineData?: { mimeType: string; data: string }
  fileData?: { mimeType?: string; fileUri: string }
  functionCall?: { name: string; args?: JsonObject; id?: string }
  functionResponse?: { name: string; response: JsonObject; id?: string }
}

export interface GeminiContent {
  role?: 'user' | 'model'
  parts: GeminiPart[]
}

export interface GeminiFunctionDeclaration {
  name: string
  description?: string
  parameters?: JsonObject
}

export interface GeminiRequest {
  contents: GeminiContent[]
  systemInstruction?: GeminiContent
  tools?: { functionDeclarations: GeminiFunctionDeclaration[] }[]
  toolConfig?: { functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] } }
  generationConfig?: {
    maxOutputTokens?: number
    temperature?: number
    topP?: number
    topK?: number
    stopSequences?: string[]
    candidateCount?: number
    responseMimeType?: string
    responseSchema?: JsonObject
    presencePenalty?: number
    frequencyPenalty?: number
    seed?: number
  }
  [k: string]: unknown
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number
  candidatesTokenCount?: number
  totalTokenCount?: number
  cachedContentTokenCount?: number
  thoughtsTokenCount?: number
  toolUsePromptTokenCount?: number
}

export interface GeminiCandidate {
  content?: GeminiContent
  finishReason?: string
  index?: number
  safetyRatings?: unknown[]
}

export interface GeminiResponse {
  candidates?: GeminiCandidate[]
  promptFeedback?: { blockReason?: string }
  usageMetadata?: GeminiUsageMetadata
  modelVersion?: string
  responseId?: string
}

export interface GeminiErrorBody {
  error: { code: number; message: string; status: string; details?: unknown[] }
}

// ---------------------------------------------------------------- Bedrock Converse

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

// ---------------------------------------------------------------- OpenAI Responses API

/** Content parts of Responses input messages (`input_*`) and of echoed assistant output (`output_text`, `refusal`). */
export type ResponsesContentPart =
  | { type: 'input_text'; text: string }
  | { type: 'input_image'; image_url?: string | null; file_id?: string | null; detail?: 'low' | 'high' | 'auto' }
  | { type: 'input_file'; file_data?: string; file_id?: string | null; file_url?: string; filename?: string }
  | { type: 'input_audio'; input_audio: { data: string; format: string } }
  | { type: 'output_text'; text: string; annotations?: unknown[] }
  | { type: 'refusal'; refusal: string }

export interface ResponsesMessageItem {
  /** Optional in requests ("easy input messages" carry only role and content). */
  type?: 'message'
  role: 'user' | 'assistant' | 'system' | 'developer'
  content: string | ResponsesContentPart[]
  id?: string
  status?: string
}

export interface ResponsesFunctionCallItem {
  type: 'function_call'
  call_id: string
  name: string
  arguments: string
  id?: string
  status?: string
}

export interface ResponsesFunctionCallOutputItem {
  type: 'function_call_output'
  call_id: string
  output: string | ResponsesContentPart[]
  id?: string | null
  status?: string | null
}

export interface ResponsesReasoningItem {
  type: 'reasoning'
  id?: string
  summary?: { type: 'summary_text'; text: string }[]
  content?: { type: 'reasoning_text'; text: string }[]
  encrypted_content?: string | null
}

export type ResponsesInputItem =
  | ResponsesMessageItem
  | ResponsesFunctionCallItem
  | ResponsesFunctionCallOutputItem
  | ResponsesReasoningItem
  | { type: string; [k: string]: unknown }

/** A function tool: name, description, parameters and strict at the top level (not under `function`). */
export interface ResponsesFunctionTool {
  type: 'function'
  name: string
  description?: string | null
  parameters?: JsonObject | null
  strict?: boolean | null
}

export type ResponsesTool = ResponsesFunctionTool | { type: string; [k: string]: unknown }

export type ResponsesToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | { type: 'function'; name: string }
  | { type: 'allowed_tools'; mode: 'auto' | 'required'; tools: { type: string; name?: string }[] }
  | { type: string; [k: string]: unknown }

export type ResponsesTextFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: JsonObject; description?: string; strict?: boolean | null }

export interface ResponsesRequest {
  model: string
  input: string | ResponsesInputItem[]
  instructions?: string | null
  tools?: ResponsesTool[]
  tool_choice?: ResponsesToolChoice
  parallel_tool_calls?: boolean | null
  max_output_tokens?: number | null
  temperature?: number | null
  top_p?: number | null
  stream?: boolean | null
  text?: { format?: ResponsesTextFormat; verbosity?: string | null }
  reasoning?: { effort?: string | null; summary?: string | null; generate_summary?: string | null } | null
  metadata?: Record<string, string> | null
  user?: string
  store?: boolean | null
  previous_response_id?: string | null
  include?: string[] | null
  truncation?: 'auto' | 'disabled' | null
  background?: boolean | null
  [k: string]: unknown
}

export interface ResponsesUsage {
  input_tokens: number
  input_tokens_details: { cached_tokens: number }
  output_tokens: number
  output_tokens_details: { reasoning_tokens: number }
  total_tokens: number
}

export interface ResponsesOutputText { type: 'output_text'; text: string; annotations: unknown[]; logprobs?: unknown[] }

export type ResponsesItemStatus = 'in_progress' | 'completed' | 'incomplete'

export type ResponsesOutputItem =
  | { type: 'reasoning'; id: string; summary: { type: 'summary_text'; text: string }[]; status?: ResponsesItemStatus }
  | { type: 'message'; id: string; role: 'assistant'; status: ResponsesItemStatus; content: ResponsesOutputText[] }
  | { type: 'function_call'; id: string; call_id: string; name: string; arguments: string; status: ResponsesItemStatus }

export type ResponsesStatus = 'completed' | 'incomplete' | 'in_progress' | 'failed'

/** The `response` object of `POST /v1/responses`, `response.created`, `response.completed`… */
export interface ResponsesResponse {
  id: string
  object: 'response'
  created_at: number
  status: ResponsesStatus
  background: boolean
  error: { code: string; message: string } | null
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null
  instructions: string | null
  max_output_tokens: number | null
  max_tool_calls: number | null
  model: string
  output: ResponsesOutputItem[]
  parallel_tool_calls: boolean
  previous_response_id: string | null
  reasoning: { effort: string | null; summary: string | null }
  store: boolean
  temperature: number | null
  text: { format: ResponsesTextFormat | { type: string }; verbosity?: string | null }
  tool_choice: ResponsesToolChoice
  tools: ResponsesTool[]
  top_p: number | null
  truncation: 'auto' | 'disabled'
  usage: ResponsesUsage | null
  user: string | null
  metadata: Record<string, string>
  [k: string]: unknown
}
