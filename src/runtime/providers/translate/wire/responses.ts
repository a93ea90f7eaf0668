/** The OpenAI Responses API (`POST /v1/responses`): request items, tools, the response object.
 *  Loose on purpose, like every wire shape (see ../types.ts). */
import type { JsonObject } from './json.js'

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
