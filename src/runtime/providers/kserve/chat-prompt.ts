/**
 * OpenAI chat messages → the one prompt string a text-in/text-out model takes, through the
 * cluster's chat template (compiled once: each role's template split at `{content}`).
 */
import type { ChatTemplateIR } from '../../../compiler/ir.js'

export interface CompiledChatTemplate {
  /** The prompt, or why these messages cannot become one (a 400 for the caller). */
  render(messages: unknown): { prompt: string } | { refused: string }
}

type Parts = readonly [before: string, after: string]

export function compileChatTemplate(t: ChatTemplateIR): CompiledChatTemplate {
  const split = (s: string): Parts => {
    const i = s.indexOf('{content}')
    return [s.slice(0, i), s.slice(i + '{content}'.length)]
  }
  const roles: Record<string, Parts> = { system: split(t.system), developer: split(t.system), user: split(t.user), assistant: split(t.assistant) }
  return {
    render(messages) {
      if (!Array.isArray(messages) || messages.length === 0) return { refused: "'messages' must be a non-empty array" }
      let prompt = t.begin
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i]
        const parts = roles[m?.role]
        if (parts === undefined) return { refused: `messages[${i}]: role '${String(m?.role)}' is not supported by provider 'kserve_grpc' (system, developer, user and assistant are)` }
        if (m.tool_calls !== undefined && m.tool_calls !== null && (!Array.isArray(m.tool_calls) || m.tool_calls.length > 0)) return { refused: `messages[${i}]: tool calls are not supported by provider 'kserve_grpc'` }
        const text = textOf(m.content)
        if (typeof text !== 'string') return { refused: `messages[${i}].content: ${text.refused}` }
        prompt += parts[0] + text + parts[1]
      }
      return { prompt: prompt + t.generationPrompt }
    },
  }
}

function textOf(content: unknown): string | { refused: string } {
  if (typeof content === 'string') return content
  if (content === null || content === undefined) return ''
  if (!Array.isArray(content)) return { refused: 'must be a string or an array of text parts' }
  let out = ''
  for (const p of content) {
    if (p?.type !== 'text' || typeof p.text !== 'string') return { refused: `part type '${String(p?.type)}' is not supported by provider 'kserve_grpc' (text only)` }
    out += p.text
  }
  return out
}
