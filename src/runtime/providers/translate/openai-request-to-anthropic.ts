/** OpenAI chat request → Anthropic Messages request. */
import type {
  AnthropicContentBlock, AnthropicMessage, AnthropicRequest, AnthropicTextBlock, AnthropicTool, AnthropicToolChoice,
  OpenAIChatRequest, OpenAIContentPart, Translated,
} from './types.js'
import {
  BASE_HANDLED, droppedParams, maxTokensOf, parseArguments, partsOf, pushMerged, requireMessages, requireSingleChoice,
  stopSequencesOf, textOf,
} from './request-common.js'
import { parseDataUrl } from './media.js'
import { TranslationError } from './translation-error.js'

export interface OpenAIToAnthropicOptions {
  /** Anthropic requires max_tokens; used when the caller sent neither max_tokens nor max_completion_tokens. Default 4096. */
  defaultMaxTokens?: number
}

const HANDLED = new Set<string>([
  ...BASE_HANDLED, 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'tools', 'tool_choice',
  'parallel_tool_calls', 'user',
])

function userBlock(p: OpenAIContentPart, at: string): AnthropicContentBlock | undefined {
  switch (p.type) {
    case 'text':
      return p.text ? { type: 'text', text: p.text } : undefined
    case 'image_url': {
      const url = p.image_url?.url ?? ''
      const d = parseDataUrl(url)
      if (d) return { type: 'image', source: { type: 'base64', media_type: d.mediaType, data: d.data } }
      if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } }
      throw new TranslationError('image_url must be a data: URL or an http(s) URL', at)
    }
    case 'file': {
      const d = p.file?.file_data ? parseDataUrl(p.file.file_data) : undefined
      if (!d) throw new TranslationError('only inline file_data (data: URL) files are supported by provider anthropic', at)
      const doc: AnthropicContentBlock = { type: 'document', source: { type: 'base64', media_type: d.mediaType, data: d.data } }
      if (p.file.filename) doc.title = p.file.filename
      return doc
    }
    case 'refusal':
      return p.refusal ? { type: 'text', text: p.refusal } : undefined
    default:
      throw new TranslationError(`content part type '${(p as { type: string }).type}' is not supported by provider anthropic`, at)
  }
}

function toolChoiceOf(req: OpenAIChatRequest): AnthropicToolChoice | undefined {
  const tc = req.tool_choice
  const noParallel = req.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {}
  if (tc === undefined || tc === null) return req.parallel_tool_calls === false && req.tools?.length ? { type: 'auto', ...noParallel } : undefined
  if (tc === 'none') return { type: 'none' }
  if (tc === 'auto') return { type: 'auto', ...noParallel }
  if (tc === 'required') return { type: 'any', ...noParallel }
  if (typeof tc === 'object' && tc.type === 'function' && tc.function?.name) return { type: 'tool', name: tc.function.name, ...noParallel }
  throw new TranslationError('unsupported tool_choice', 'tool_choice')
}

export function openAIToAnthropicRequest(req: OpenAIChatRequest, opts: OpenAIToAnthropicOptions = {}): Translated<AnthropicRequest> {
  requireMessages(req)
  requireSingleChoice(req, 'anthropic')
  const system: AnthropicTextBlock[] = []
  const messages: AnthropicMessage[] = []
  type Msg = { role: 'user' | 'assistant'; content: AnthropicContentBlock[] }

  req.messages.forEach((m, i) => {
    const at = `messages[${i}]`
    switch (m.role) {
      case 'system':
      case 'developer': {
        // Anthropic has one system prompt; system turns from anywhere in the list join it, in order.
        const text = textOf(m.content)
        if (text) system.push({ type: 'text', text })
        break
      }
      case 'user': {
        const content: AnthropicContentBlock[] = []
        partsOf(m.content).forEach((p, j) => {
          const b = userBlock(p, `${at}.content[${j}]`)
          if (b) content.push(b)
        })
        pushMerged<Msg>(messages as Msg[], { role: 'user', content })
        break
      }
      case 'assistant': {
        const content: AnthropicContentBlock[] = []
        const text = textOf(m.content ?? null) || (m.refusal ?? '')
        if (text) content.push({ type: 'text', text })
        for (const tc of m.tool_calls ?? []) {
          content.push({ type: 'tool_use', id: tc.id, name: tc.function.name, input: parseArguments(tc.function.arguments) })
        }
        pushMerged<Msg>(messages as Msg[], { role: 'assistant', content })
        break
      }
      case 'tool': {
        const text = textOf(m.content)
        const result: AnthropicContentBlock = text
          ? { type: 'tool_result', tool_use_id: m.tool_call_id, content: text }
          : { type: 'tool_result', tool_use_id: m.tool_call_id }
        pushMerged<Msg>(messages as Msg[], { role: 'user', content: [result] })
        break
      }
      default:
        throw new TranslationError(`message role '${(m as { role: string }).role}' is not supported`, `${at}.role`)
    }
  })

  const body: AnthropicRequest = {
    model: req.model,
    messages,
    max_tokens: maxTokensOf(req) ?? opts.defaultMaxTokens ?? 4096,
  }
  if (system.length) body.system = system
  if (typeof req.temperature === 'number') body.temperature = Math.min(req.temperature, 1) // Anthropic's range is 0–1
  if (typeof req.top_p === 'number') body.top_p = req.top_p
  const stop = stopSequencesOf(req)
  if (stop) body.stop_sequences = stop
  if (req.tools?.length) {
    body.tools = req.tools.map((t, i): AnthropicTool => {
      if (t.type !== 'function' || !t.function?.name) throw new TranslationError(`tool type '${t.type}' is not supported by provider anthropic`, `tools[${i}]`)
      const tool: AnthropicTool = { name: t.function.name, input_schema: t.function.parameters ?? { type: 'object', properties: {} } }
      if (t.function.description) tool.description = t.function.description
      return tool
    })
  }
  const choice = toolChoiceOf(req)
  if (choice) body.tool_choice = choice
  if (req.user) body.metadata = { user_id: req.user }
  if (req.stream) body.stream = true

  const dropped = droppedParams(req, HANDLED)
  const rf = req.response_format
  if (rf && rf.type === 'text') dropped.splice(dropped.indexOf('response_format'), 1)
  return { body, dropped }
}
