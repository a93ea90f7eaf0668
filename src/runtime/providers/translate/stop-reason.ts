/** Stop-reason tables, provider vocabulary ⇄ canonical StopReason. */
import type { StopReason } from './canonical.js'
import type { AnthropicStopReason, OpenAIFinishReason } from './types.js'

export function stopFromOpenAI(r: string | null | undefined): StopReason {
  switch (r) {
    case 'length': return 'length'
    case 'tool_calls':
    case 'function_call': return 'tool_calls'
    case 'content_filter': return 'content_filter'
    default: return 'stop'
  }
}

export function stopFromAnthropic(r: string | null | undefined): StopReason {
  switch (r) {
    case 'max_tokens':
    case 'model_context_window_exceeded': return 'length'
    case 'tool_use': return 'tool_calls'
    case 'stop_sequence': return 'stop_sequence'
    case 'refusal': return 'content_filter'
    default: return 'stop' // end_turn, pause_turn
  }
}

/** Gemini reports STOP even when the turn ends in function calls; `hadToolCalls` fixes that up. */
export function stopFromGemini(r: string | null | undefined, hadToolCalls: boolean): StopReason {
  switch (r) {
    case 'MAX_TOKENS': return 'length'
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY': return 'content_filter'
    default: return hadToolCalls ? 'tool_calls' : 'stop' // STOP, OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, …
  }
}

export function stopFromBedrock(r: string | null | undefined): StopReason {
  switch (r) {
    case 'max_tokens':
    case 'model_context_window_exceeded': return 'length'
    case 'tool_use': return 'tool_calls'
    case 'stop_sequence': return 'stop_sequence'
    case 'guardrail_intervened':
    case 'content_filtered': return 'content_filter'
    default: return 'stop'
  }
}

export function stopToOpenAI(r: StopReason): OpenAIFinishReason {
  return r === 'stop_sequence' ? 'stop' : r
}

export function stopToAnthropic(r: StopReason): AnthropicStopReason {
  switch (r) {
    case 'length': return 'max_tokens'
    case 'tool_calls': return 'tool_use'
    case 'stop_sequence': return 'stop_sequence'
    case 'content_filter': return 'refusal'
    default: return 'end_turn'
  }
}
