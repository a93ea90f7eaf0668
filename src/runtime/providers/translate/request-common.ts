/** Helpers shared by the request translators. */
import type { OpenAIChatRequest, OpenAIContentPart, OpenAIMessage, OpenAITextPart } from './types.js'
import { TranslationError } from './translation-error.js'

/** Names of parameters set on `req` (non-null) that `handled` does not cover, in request order. */
export function droppedParams(req: Record<string, unknown>, handled: ReadonlySet<string>): string[] {
  const out: string[] = []
  for (const k of Object.keys(req)) {
    if (!handled.has(k) && req[k] !== undefined && req[k] !== null) out.push(k)
  }
  return out
}

/** Concatenated text of a string-or-parts content (text and refusal parts only). */
export function textOf(content: string | readonly (OpenAIContentPart | OpenAITextPart)[] | null | undefined): string {
  if (content == null) return ''
  if (typeof content === 'string') return content
  let s = ''
  for (const p of content) {
    if (p.type === 'text') s += p.text
    else if (p.type === 'refusal') s += p.refusal
  }
  return s
}

export function partsOf(content: string | OpenAIContentPart[] | null | undefined): OpenAIContentPart[] {
  if (content == null) return []
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content
}

/** Tool-call arguments as an object; providers other than OpenAI want structured input. */
export function parseArguments(args: string | undefined): Record<string, unknown> {
  if (!args || !args.trim()) return {}
  try {
    const v = JSON.parse(args)
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : { value: v }
  } catch {
    return { _raw_arguments: args }
  }
}

export function maxTokensOf(req: OpenAIChatRequest): number | undefined {
  const v = req.max_completion_tokens ?? req.max_tokens
  return typeof v === 'number' ? v : undefined
}

export function stopSequencesOf(req: OpenAIChatRequest): string[] | undefined {
  const s = req.stop
  if (s == null) return undefined
  const list = (Array.isArray(s) ? s : [s]).filter((x) => typeof x === 'string' && x.length > 0)
  return list.length ? list : undefined
}

export function requireSingleChoice(req: OpenAIChatRequest, provider: string): void {
  if (req.n != null && req.n !== 1) throw new TranslationError(`n=${req.n} is not supported by provider ${provider}; only n=1`, 'n')
}

export function requireMessages(req: { messages?: unknown }): void {
  if (!Array.isArray(req.messages)) throw new TranslationError('messages must be an array', 'messages')
}

/** Finds the function name for a tool_call_id among earlier assistant turns. */
export function toolNamesById(messages: readonly OpenAIMessage[]): Map<string, string> {
  const names = new Map<string, string>()
  for (const m of messages) {
    if (m.role === 'assistant' && m.tool_calls) for (const tc of m.tool_calls) names.set(tc.id, tc.function.name)
  }
  return names
}

/** Appends to the last message if it has the same role, since these providers want alternation. */
export function pushMerged<M extends { role: string; content: unknown[] }>(out: M[], msg: M): void {
  if (msg.content.length === 0) return
  const last = out[out.length - 1]
  if (last && last.role === msg.role) last.content.push(...msg.content)
  else out.push(msg)
}

/** The common OpenAI parameters every translator understands. */
export const BASE_HANDLED = ['model', 'messages', 'stream', 'stream_options', 'n'] as const
