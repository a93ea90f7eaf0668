/**
 * What the semantic cache compares: the text to embed, and the scope — everything else about the
 * request, which must be identical for a stored prompt to answer (tenant, namespace, cluster,
 * served model and every output-affecting parameter, exactly as the exact key counts them).
 *
 * `last_user_message`: the text is the last user turn; the scope keeps the rest of the
 * conversation verbatim (the same system prompt and history, a reworded last question).
 * `prompt`: the text is the whole conversation, one `role: text` line per message; the scope holds
 * the parameters only. Works on the canonical request (key.ts), so an Anthropic Messages request
 * is compared in the same form as a Chat Completions one.
 */
import { requestKey, type KeyParts } from '../key.js'

/** Longer texts are not embedded (cutting them would compare something else than was asked). */
export const MAX_EMBED_CHARS = 16_000

export interface SemanticQuestion {
  readonly text: string
  /** Hash of the scope: only prompts with the same scope are compared. */
  readonly scope: string
}

/** undefined when the request has nothing comparable (no user text, a non-text part, too long). */
export function semanticQuestion(parts: KeyParts, embed: 'last_user_message' | 'prompt'): SemanticQuestion | undefined {
  const messages = parts.body.messages
  if (!Array.isArray(messages) || messages.length === 0) return undefined
  let text: string
  let rest: Record<string, unknown>
  if (embed === 'prompt') {
    const lines: string[] = []
    for (const m of messages) {
      // Tool calls and results are not words to compare: such a conversation is not embedded whole.
      if ((m as { tool_calls?: unknown })?.tool_calls !== undefined || (m as { role?: unknown })?.role === 'tool') return undefined
      const t = textOf(m)
      if (t === undefined) return undefined
      lines.push(`${(m as { role?: unknown }).role}: ${t}`)
    }
    text = lines.join('\n')
    rest = { ...parts.body, messages: undefined }
  } else {
    let last = -1
    for (let i = messages.length - 1; i >= 0; i--) if ((messages[i] as { role?: unknown })?.role === 'user') { last = i; break }
    if (last < 0) return undefined
    const t = textOf(messages[last])
    if (t === undefined) return undefined
    text = t
    rest = { ...parts.body, messages: messages.map((m, i) => (i === last ? LAST_USER : m)) }
  }
  if (text.trim() === '' || text.length > MAX_EMBED_CHARS) return undefined
  return { text, scope: requestKey({ ...parts, namespace: `${parts.namespace}\nsemantic:${embed}`, body: rest }) }
}

/** Stands in the scope for the embedded turn: its position counts, its words do not. */
const LAST_USER = Object.freeze({ role: 'user', content: '<embedded>' })

/** A message's text: a string content, or text-only parts (the canonical form already joined most). */
function textOf(m: unknown): string | undefined {
  if (m === null || typeof m !== 'object') return undefined
  const c = (m as { content?: unknown }).content
  if (typeof c === 'string') return c
  if (c === null && (m as { role?: unknown }).role === 'assistant') return ''
  if (!Array.isArray(c)) return undefined
  let s = ''
  for (const p of c) {
    if (p?.type !== 'text' || typeof p.text !== 'string') return undefined
    s += p.text
  }
  return s
}
