/**
 * What the caller is asking for, decided by the request path: the front-door protocol (and so the
 * error format) and the operation.
 */
import type { Protocol } from '../../compiler/ir.js'

export type Operation = 'chat' | 'messages' | 'count_tokens' | 'embeddings' | 'other'

export function operationOf(path: string): Operation {
  if (path.endsWith('/chat/completions')) return 'chat'
  if (path.endsWith('/messages')) return 'messages'
  if (path.endsWith('/messages/count_tokens')) return 'count_tokens'
  if (path.endsWith('/embeddings')) return 'embeddings'
  return 'other'
}

/** Anthropic's paths answer in Anthropic's format; everything else in the listener's. */
export function protocolOf(path: string, listenerDefault: Protocol): Protocol {
  return path.startsWith('/v1/messages') ? 'anthropic' : listenerDefault
}
