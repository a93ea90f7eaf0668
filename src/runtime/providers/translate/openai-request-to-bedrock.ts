/** OpenAI chat request → Bedrock Converse / ConverseStream request. */
import type {
  BedrockContentBlock, BedrockMessage, BedrockRequest, OpenAIChatRequest, OpenAIContentPart, Translated,
} from './types.js'
import {
  BASE_HANDLED, droppedParams, maxTokensOf, parseArguments, partsOf, pushMerged, requireMessages, requireSingleChoice,
  stopSequencesOf, textOf,
} from './request-common.js'
import { imageFormatOf, parseDataUrl } from './media.js'
import { TranslationError } from './translation-error.js'
import { wellFormed } from '../path-segment.js'

const HANDLED = new Set<string>([
  ...BASE_HANDLED, 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'tools', 'tool_choice',
])

/** The REST path for a model id or inference-profile ARN. */
export function bedrockPath(modelId: string, stream: boolean): string {
  return `/model/${encodeURIComponent(wellFormed(modelId))}/${stream ? 'converse-stream' : 'converse'}`
}

const DOC_FORMATS: Record<string, string> = {
  'application/pdf': 'pdf', 'text/csv': 'csv', 'text/plain': 'txt', 'text/html': 'html', 'text/markdown': 'md',
  'application/msword': 'doc', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
}

function userBlock(p: OpenAIContentPart, at: string, docNo: number): BedrockContentBlock | undefined {
  switch (p.type) {
    case 'text':
      return p.text ? { text: p.text } : undefined
    case 'image_url': {
      const d = parseDataUrl(p.image_url?.url ?? '')
      if (!d) throw new TranslationError('provider bedrock accepts images as data: URLs only', at)
      const format = imageFormatOf(d.mediaType)
      if (!format) throw new TranslationError(`image type ${d.mediaType} is not supported by provider bedrock (png, jpeg, gif, webp)`, at)
      return { image: { format, source: { bytes: d.data } } }
    }
    case 'file': {
      const d = p.file?.file_data ? parseDataUrl(p.file.file_data) : undefined
      const format = d && DOC_FORMATS[d.mediaType]
      if (!d || !format) throw new TranslationError('provider bedrock accepts inline file_data documents (pdf, csv, txt, html, md, doc(x), xls(x)) only', at)
      // Bedrock restricts document names to a small character set and forbids repeats in a request.
      const base = (p.file.filename ?? 'document').replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9 \-()[\]]/g, ' ').trim() || 'document'
      return { document: { format, name: docNo ? `${base} ${docNo + 1}` : base, source: { bytes: d.data } } }
    }
    case 'refusal':
      return p.refusal ? { text: p.refusal } : undefined
    default:
      throw new TranslationError(`content part type '${(p as { type: string }).type}' is not supported by provider bedrock`, at)
  }
}

export function openAIToBedrockRequest(req: OpenAIChatRequest): Translated<BedrockRequest> {
  requireMessages(req)
  requireSingleChoice(req, 'bedrock')
  const system: { text: string }[] = []
  const messages: BedrockMessage[] = []
  const usedTools = new Set<string>()
  let docs = 0

  req.messages.forEach((m, i) => {
    const at = `messages[${i}]`
    switch (m.role) {
      case 'system':
      case 'developer': {
        const text = textOf(m.content)
        if (text) system.push({ text })
        break
      }
      case 'user': {
        const content: BedrockContentBlock[] = []
        partsOf(m.content).forEach((p, j) => {
          const b = userBlock(p, `${at}.content[${j}]`, p.type === 'file' ? docs++ : 0)
          if (b) content.push(b)
        })
        pushMerged(messages, { role: 'user', content })
        break
      }
      case 'assistant': {
        const content: BedrockContentBlock[] = []
        const text = textOf(m.content ?? null) || (m.refusal ?? '')
        if (text) content.push({ text })
        for (const tc of m.tool_calls ?? []) {
          usedTools.add(tc.function.name)
          content.push({ toolUse: { toolUseId: tc.id, name: tc.function.name, input: parseArguments(tc.function.arguments) } })
        }
        pushMerged(messages, { role: 'assistant', content })
        break
      }
      case 'tool':
        pushMerged(messages, {
          role: 'user',
          // No `status`: Converse accepts it for Claude and Nova models only.
          content: [{ toolResult: { toolUseId: m.tool_call_id, content: [{ text: textOf(m.content) }] } }],
        })
        break
      default:
        throw new TranslationError(`message role '${(m as { role: string }).role}' is not supported`, `${at}.role`)
    }
  })

  const body: BedrockRequest = { messages }
  if (system.length) body.system = system
  const inf: NonNullable<BedrockRequest['inferenceConfig']> = {}
  const max = maxTokensOf(req)
  if (max !== undefined) inf.maxTokens = max
  if (typeof req.temperature === 'number') inf.temperature = Math.min(req.temperature, 1) // Converse's range is 0–1
  if (typeof req.top_p === 'number') inf.topP = req.top_p
  const stop = stopSequencesOf(req)
  if (stop) inf.stopSequences = stop
  if (Object.keys(inf).length) body.inferenceConfig = inf

  const dropped = droppedParams(req, HANDLED)
  const tools: NonNullable<BedrockRequest['toolConfig']>['tools'] = []
  ;(req.tools ?? []).forEach((t, i) => {
    if (t.type !== 'function' || !t.function?.name) throw new TranslationError(`tool type '${t.type}' is not supported by provider bedrock`, `tools[${i}]`)
    const spec: (typeof tools)[number]['toolSpec'] = { name: t.function.name, inputSchema: { json: t.function.parameters ?? { type: 'object', properties: {} } } }
    if (t.function.description) spec.description = t.function.description
    tools.push({ toolSpec: spec })
  })
  // Converse rejects toolUse/toolResult history without a toolConfig; declare what the history used.
  const declared = new Set(tools.map((t) => t.toolSpec.name))
  for (const name of usedTools) {
    if (!declared.has(name)) tools.push({ toolSpec: { name, inputSchema: { json: { type: 'object', properties: {} } } } })
  }
  if (tools.length) {
    body.toolConfig = { tools }
    const tc = req.tool_choice
    if (tc === 'auto') body.toolConfig.toolChoice = { auto: {} }
    else if (tc === 'required') body.toolConfig.toolChoice = { any: {} }
    else if (tc && typeof tc === 'object') body.toolConfig.toolChoice = { tool: { name: tc.function.name } }
    else if (tc === 'none') dropped.push('tool_choice') // Converse has no "none"; the tools must stay declared
  }
  return { body, dropped }
}
