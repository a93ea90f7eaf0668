/** OpenAI Chat Completions (`POST /v1/chat/completions`): request, response, stream chunk, error.
 *  Loose on purpose, like every wire shape (see ../types.ts). */
import type { JsonObject } from './json.js'

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call'

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
