/** OpenAI chat request → Gemini generateContent request. */
import type {
  GeminiContent, GeminiFunctionDeclaration, GeminiPart, GeminiRequest, JsonObject, OpenAIChatRequest, OpenAIContentPart,
  Translated,
} from './types.js'
import {
  BASE_HANDLED, droppedParams, maxTokensOf, parseArguments, partsOf, requireMessages, requireSingleChoice,
  stopSequencesOf, textOf, toolNamesById,
} from './request-common.js'
import { parseDataUrl } from './media.js'
import { toGeminiSchema } from './json-schema-to-gemini.js'
import { TranslationError } from './translation-error.js'
import { wellFormed } from '../path-segment.js'

const HANDLED = new Set<string>([
  ...BASE_HANDLED, 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'tools', 'tool_choice',
  'response_format', 'presence_penalty', 'frequency_penalty', 'seed',
])

/** The REST path for a model; the model is part of the URL, not the body. */
export function geminiPath(model: string, stream: boolean): string {
  const m = model.startsWith('models/') ? model.slice(7) : model
  return `/v1beta/models/${encodeURIComponent(wellFormed(m))}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`
}

function userPart(p: OpenAIContentPart, at: string): GeminiPart | undefined {
  switch (p.type) {
    case 'text':
      return p.text ? { text: p.text } : undefined
    case 'image_url': {
      const d = parseDataUrl(p.image_url?.url ?? '')
      if (!d) throw new TranslationError('provider gemini accepts images as data: URLs only', at)
      return { inlineData: { mimeType: d.mediaType, data: d.data } }
    }
    case 'file': {
      const d = p.file?.file_data ? parseDataUrl(p.file.file_data) : undefined
      if (!d) throw new TranslationError('provider gemini accepts files as inline file_data (data: URL) only', at)
      return { inlineData: { mimeType: d.mediaType, data: d.data } }
    }
    case 'input_audio':
      return { inlineData: { mimeType: `audio/${p.input_audio.format}`, data: p.input_audio.data } }
    case 'refusal':
      return p.refusal ? { text: p.refusal } : undefined
    default:
      throw new TranslationError(`content part type '${(p as { type: string }).type}' is not supported by provider gemini`, at)
  }
}

/** Gemini wants functionResponse.response to be an object; non-object output goes under `output`. */
function responseObject(text: string): JsonObject {
  try {
    const v = JSON.parse(text)
    if (v && typeof v === 'object' && !Array.isArray(v)) return v
  } catch {
    // plain text output
  }
  return { output: text }
}

export function openAIToGeminiRequest(req: OpenAIChatRequest): Translated<GeminiRequest> {
  requireMessages(req)
  requireSingleChoice(req, 'gemini')
  const system: GeminiPart[] = []
  const contents: GeminiContent[] = []
  const names = toolNamesById(req.messages)
  type C = { role: 'user' | 'model'; parts: GeminiPart[] }
  const push = (role: 'user' | 'model', parts: GeminiPart[]) => {
    if (parts.length === 0) return
    const last = contents[contents.length - 1] as C | undefined
    if (last && last.role === role) last.parts.push(...parts)
    else contents.push({ role, parts })
  }

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
        const parts: GeminiPart[] = []
        partsOf(m.content).forEach((p, j) => {
          const g = userPart(p, `${at}.content[${j}]`)
          if (g) parts.push(g)
        })
        push('user', parts)
        break
      }
      case 'assistant': {
        const parts: GeminiPart[] = []
        const text = textOf(m.content ?? null) || (m.refusal ?? '')
        if (text) parts.push({ text })
        for (const tc of m.tool_calls ?? []) parts.push({ functionCall: { name: tc.function.name, args: parseArguments(tc.function.arguments) } })
        push('model', parts)
        break
      }
      case 'tool': {
        const name = names.get(m.tool_call_id)
        if (!name) throw new TranslationError(`tool message refers to unknown tool_call_id '${m.tool_call_id}'`, `${at}.tool_call_id`)
        push('user', [{ functionResponse: { name, response: responseObject(textOf(m.content)) } }])
        break
      }
      default:
        throw new TranslationError(`message role '${(m as { role: string }).role}' is not supported`, `${at}.role`)
    }
  })

  const body: GeminiRequest = { contents }
  if (system.length) body.systemInstruction = { parts: system }
  const gen: NonNullable<GeminiRequest['generationConfig']> = {}
  const max = maxTokensOf(req)
  if (max !== undefined) gen.maxOutputTokens = max
  if (typeof req.temperature === 'number') gen.temperature = req.temperature
  if (typeof req.top_p === 'number') gen.topP = req.top_p
  const stop = stopSequencesOf(req)
  if (stop) gen.stopSequences = stop
  if (typeof req.presence_penalty === 'number') gen.presencePenalty = req.presence_penalty
  if (typeof req.frequency_penalty === 'number') gen.frequencyPenalty = req.frequency_penalty
  if (typeof req.seed === 'number') gen.seed = req.seed
  const rf = req.response_format
  if (rf?.type === 'json_object') gen.responseMimeType = 'application/json'
  else if (rf?.type === 'json_schema') {
    gen.responseMimeType = 'application/json'
    if (rf.json_schema?.schema) gen.responseSchema = toGeminiSchema(rf.json_schema.schema)
  }
  if (Object.keys(gen).length) body.generationConfig = gen

  if (req.tools?.length) {
    const decls = req.tools.map((t, i): GeminiFunctionDeclaration => {
      if (t.type !== 'function' || !t.function?.name) throw new TranslationError(`tool type '${t.type}' is not supported by provider gemini`, `tools[${i}]`)
      const d: GeminiFunctionDeclaration = { name: t.function.name }
      if (t.function.description) d.description = t.function.description
      // A function without parameters must omit the field; an empty OBJECT schema is rejected.
      const params = t.function.parameters
      if (params && Object.keys((params.properties as object | undefined) ?? {}).length) d.parameters = toGeminiSchema(params)
      return d
    })
    body.tools = [{ functionDeclarations: decls }]
  }
  const tc = req.tool_choice
  if (tc === 'none') body.toolConfig = { functionCallingConfig: { mode: 'NONE' } }
  else if (tc === 'required') body.toolConfig = { functionCallingConfig: { mode: 'ANY' } }
  else if (tc && typeof tc === 'object') body.toolConfig = { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [tc.function.name] } }
  else if (tc === 'auto') body.toolConfig = { functionCallingConfig: { mode: 'AUTO' } }

  return { body, dropped: droppedParams(req, HANDLED) }
}
