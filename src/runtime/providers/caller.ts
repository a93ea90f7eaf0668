/**
 * What the caller is asking for, decided by the request path: the front-door protocol (and so the
 * error format) and the operation.
 */
import type { Protocol } from '../../compiler/ir.js'

/** `responses`: POST /v1/responses; `stored_response`: /v1/responses/{id} and its input_items. */
export type Operation = 'chat' | 'messages' | 'count_tokens' | 'embeddings' | 'responses' | 'stored_response' | 'other'

export function operationOf(path: string): Operation {
  if (path.endsWith('/chat/completions')) return 'chat'
  if (path.endsWith('/responses')) return 'responses'
  if (path.includes('/responses/')) return 'stored_response'
  if (path.endsWith('/messages')) return 'messages'
  if (path.endsWith('/messages/count_tokens')) return 'count_tokens'
  if (path.endsWith('/embeddings')) return 'embeddings'
  return 'other'
}

/** Anthropic's paths answer in Anthropic's format, the Responses API in OpenAI's; everything else in the listener's. */
export function protocolOf(path: string, listenerDefault: Protocol): Protocol {
  if (path.startsWith('/v1/messages')) return 'anthropic'
  return path.startsWith('/v1/responses') ? 'openai' : listenerDefault
}
