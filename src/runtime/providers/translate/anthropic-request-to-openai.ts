/** Anthropic Messages request (the Anthropic front door) → OpenAI chat request. */
import type {
  AnthropicContentBlock, AnthropicRequest, OpenAIChatRequest, OpenAIContentPart, OpenAIFunctionTool, OpenAIMessage,
  OpenAIToolCall, OpenAIToolChoice, Translated,
} from './types.js'
import { droppedParams, requireMessages } from './request-common.js'
import { toDataUrl } from './media.js'
import { TranslationError } from './translation-error.js'

export interface AnthropicToOpenAIOptions {
  /**
   * Which OpenAI field carries max_tokens. OpenAI's reasoning models reject `max_tokens`; many
   * OpenAI-compatible servers only know `max_tokens`. Default 'max_completion_tokens'.
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens'
}

const HANDLED = new Set<string>([
  'model', 'messages', 'max_tokens', 'system', 'stop_sequences', 'stream', 'temperature', 'top_p', 'tools', 'tool_choice', 'metadata',
])

function imagePart(b: Extract<AnthropicContentBlock, { type: 'image' }>): OpenAIContentPart {
  const url = b.source.type === 'base64' ? toDataUrl(b.source.media_type, b.source.data) : b.source.url
  return { type: 'image_url', image_url: { url } }
}

function documentPart(b: Extract<AnthropicContentBlock, { type: 'document' }>, at: string): OpenAIContentPart {
  const s = b.source
  if (s.type === 'text') return { type: 'text', text: s.data }
  if (s.type === 'base64') return { type: 'file', file: { file_data: toDataUrl(s.media_type, s.data), filename: b.title ?? 'document.pdf' } }
  throw new TranslationError('document blocks with a url source are not supported by provider openai', at)
}

function toolResultText(b: Extract<AnthropicContentBlock, { type: 'tool_result' }>, images: OpenAIContentPart[]): string {
  const c = b.content
  if (c == null) return ''
  if (typeof c === 'string') return c
  let s = ''
  for (const x of c) {
    if (x.type === 'text') s += (s ? '\n' : '') + x.text
    else if (x.type === 'image') images.push(imagePart(x)) // OpenAI tool messages carry text only
  }
  return s
}

function toolChoiceOf(tc: AnthropicRequest['tool_choice']): { choice?: OpenAIToolChoice; parallel?: boolean } {
  if (!tc) return {}
  const parallel = 'disable_parallel_tool_use' in tc && tc.disable_parallel_tool_use ? false : undefined
  switch (tc.type) {
    case 'auto': return { choice: 'auto', parallel }
    case 'any': return { choice: 'required', parallel }
    case 'tool': return { choice: { type: 'function', function: { name: tc.name } }, parallel }
    case 'none': return { choice: 'none' }
    default: throw new TranslationError('unsupported tool_choice', 'tool_choice')
  }
}

export function anthropicToOpenAIRequest(req: AnthropicRequest, opts: AnthropicToOpenAIOptions = {}): Translated<OpenAIChatRequest> {
  requireMessages(req)
  const messages: OpenAIMessage[] = []
  if (typeof req.system === 'string') {
    if (req.system) messages.push({ role: 'system', content: req.system })
  } else if (Array.isArray(req.system)) {
    const text = req.system.map((b) => b.text).filter(Boolean).join('\n\n')
    if (text) messages.push({ role: 'system', content: text })
  }

  req.messages.forEach((m, i) => {
    const at = `messages[${i}]`
    if (typeof m.content === 'string') {
      messages.push(m.role === 'user' ? { role: 'user', content: m.content } : { role: 'assistant', content: m.content })
      return
    }
    if (m.role === 'assistant') {
      let text = ''
      const calls: OpenAIToolCall[] = []
      for (const b of m.content) {
        if (b.type === 'text') text += b.text
        else if (b.type === 'tool_use') calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } })
        // thinking blocks are Anthropic-only state; another provider cannot use them.
      }
      const msg: OpenAIMessage = { role: 'assistant', content: text || null }
      if (calls.length) msg.tool_calls = calls
      messages.push(msg)
      return
    }
    // user turn: tool results become `tool` messages, which must directly follow the assistant turn.
    const parts: OpenAIContentPart[] = []
    const images: OpenAIContentPart[] = []
    m.content.forEach((b, j) => {
      switch (b.type) {
        case 'tool_result':
          messages.push({ role: 'tool', tool_call_id: b.tool_use_id, content: toolResultText(b, images) })
          break
        case 'text':
          parts.push({ type: 'text', text: b.text })
          break
        case 'image':
          parts.push(imagePart(b))
          break
        case 'document':
          parts.push(documentPart(b, `${at}.content[${j}]`))
          break
        default:
          throw new TranslationError(`content block type '${b.type}' is not supported in user turns`, `${at}.content[${j}]`)
      }
    })
    const all = [...images, ...parts]
    if (all.length === 0) return
    if (all.every((p) => p.type === 'text')) messages.push({ role: 'user', content: all.map((p) => (p as { text: string }).text).join('') })
    else messages.push({ role: 'user', content: all })
  })

  const body: OpenAIChatRequest = { model: req.model, messages }
  body[opts.maxTokensField ?? 'max_completion_tokens'] = req.max_tokens
  if (req.stop_sequences?.length) body.stop = req.stop_sequences
  if (typeof req.temperature === 'number') body.temperature = req.temperature
  if (typeof req.top_p === 'number') body.top_p = req.top_p
  if (req.tools?.length) {
    body.tools = req.tools.map((t, i): OpenAIFunctionTool => {
      // Server tools (web_search, bash, text_editor…) carry a versioned `type`; only client tools translate.
      if (t.type && t.type !== 'custom') throw new TranslationError(`tool type '${t.type}' is not supported by provider openai`, `tools[${i}]`)
      const fn: OpenAIFunctionTool['function'] = { name: t.name, parameters: t.input_schema }
      if (t.description) fn.description = t.description
      return { type: 'function', function: fn }
    })
  }
  const { choice, parallel } = toolChoiceOf(req.tool_choice)
  if (choice) body.tool_choice = choice
  if (parallel === false && body.tools) body.parallel_tool_calls = false
  if (req.metadata?.user_id) body.user = req.metadata.user_id
  if (req.stream) {
    body.stream = true
    // Anthropic callers always get usage in message_delta; ask the upstream for it.
    body.stream_options = { include_usage: true }
  }
  return { body, dropped: droppedParams(req, HANDLED) }
}
