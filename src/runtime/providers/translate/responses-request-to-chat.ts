/**
 * OpenAI Responses request (`POST /v1/responses`) → OpenAI chat request, which the existing chat →
 * Anthropic / Gemini / Bedrock translators then carry on (or which goes to a chat-only OpenAI
 * upstream as is). One more front-door translator, no new upstream translators.
 *
 * The Responses API keeps conversation state on OpenAI's servers (`previous_response_id`,
 * `conversation`, stored prompts, `item_reference`, `background`); no other upstream has it, so
 * those are refused with a 400 naming the field instead of silently answering without the context.
 *
 * A chat translator further on names chat fields in its errors (`messages[3].content[1]`);
 * `origins` and `toolOrigins` let `responsesParamOf` say which Responses field that was.
 */
import type {
  JsonObject, OpenAIChatRequest, OpenAIContentPart, OpenAIFunctionTool, OpenAIMessage, OpenAIResponseFormat, OpenAIToolChoice,
  ResponsesContentPart, ResponsesFunctionTool, ResponsesInputItem, ResponsesMessageItem, ResponsesRequest, ResponsesTool,
  Translated,
} from './types.js'
import { droppedParams } from './request-common.js'
import { parseDataUrl } from './media.js'
import { TranslationError } from './translation-error.js'

export interface ResponsesToChatOptions {
  /** Which chat field carries `max_output_tokens` (as for Anthropic callers). Default 'max_completion_tokens'. */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens'
  /** The upstream, named in error messages. Default 'openai' (the chat request as it stands). */
  provider?: string
}

/** Where one chat message came from in the Responses request. */
export interface ChatOrigin {
  /** `instructions`, `input` or `input[3]`. */
  at: string
  /** The Responses path of each chat content part, when the content is a part list. */
  parts?: string[]
}

export interface ResponsesToChat extends Translated<OpenAIChatRequest> {
  /** One per chat message, same index. */
  origins: ChatOrigin[]
  /** The Responses `tools` index of each chat tool (they differ when `allowed_tools` narrows the list). */
  toolOrigins: number[]
}

const HANDLED = new Set<string>([
  'model', 'input', 'instructions', 'tools', 'tool_choice', 'parallel_tool_calls', 'max_output_tokens', 'temperature',
  'top_p', 'stream', 'stream_options', 'text', 'reasoning', 'user', 'safety_identifier', 'prompt_cache_key', 'service_tier',
  // Checked below: refused when set, or harmless at their defaults.
  'previous_response_id', 'conversation', 'prompt', 'background', 'store', 'include', 'truncation',
])

/** Chat parameter names → the Responses parameter they came from (for `dropped` and error params). */
const RESPONSES_NAME: Record<string, string> = {
  max_tokens: 'max_output_tokens',
  max_completion_tokens: 'max_output_tokens',
  response_format: 'text.format',
  reasoning_effort: 'reasoning.effort',
  verbosity: 'text.verbosity',
  messages: 'input',
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

class Builder {
  readonly messages: OpenAIMessage[] = []
  readonly origins: ChatOrigin[] = []
  /** call_ids of the function_call items read so far. */
  readonly calls = new Set<string>()
  /** Images returned by function calls; chat tool messages carry text only, so they follow as a user turn. */
  private images: OpenAIContentPart[] = []
  private imageOrigins: string[] = []

  constructor(readonly provider: string) {}

  push(m: OpenAIMessage, origin: ChatOrigin): void {
    if (m.role !== 'tool') this.flushImages()
    this.messages.push(m)
    this.origins.push(origin)
  }

  holdImage(p: OpenAIContentPart, at: string): void {
    this.images.push(p)
    this.imageOrigins.push(at)
  }

  flushImages(): void {
    if (this.images.length === 0) return
    this.messages.push({ role: 'user', content: this.images })
    this.origins.push({ at: this.imageOrigins[0]!.replace(/\.output\[\d+\]$/, ''), parts: this.imageOrigins })
    this.images = []
    this.imageOrigins = []
  }

  unsupported(what: string, at: string): never {
    throw new TranslationError(`${what} is not supported by provider ${this.provider}`, at)
  }
}

function imageUrl(p: Extract<ResponsesContentPart, { type: 'input_image' }>, at: string, b: Builder): OpenAIContentPart {
  const url = p.image_url
  if (typeof url !== 'string' || url === '') {
    if (p.file_id) {
      throw new TranslationError(
        `input_image.file_id refers to OpenAI's Files API, which provider ${b.provider} cannot read; send image_url as a data: or http(s) URL`,
        `${at}.file_id`,
      )
    }
    throw new TranslationError('input_image needs an image_url (a data: or http(s) URL)', at)
  }
  if (!parseDataUrl(url) && !/^https?:\/\//i.test(url)) {
    throw new TranslationError('input_image.image_url must be a data: URL or an http(s) URL', `${at}.image_url`)
  }
  const part: OpenAIContentPart = { type: 'image_url', image_url: { url } }
  if (p.detail === 'low' || p.detail === 'high' || p.detail === 'auto') part.image_url.detail = p.detail
  return part
}

function filePart(p: Extract<ResponsesContentPart, { type: 'input_file' }>, at: string, b: Builder): OpenAIContentPart {
  if (typeof p.file_data === 'string' && p.file_data !== '') {
    const file: { file_data: string; filename?: string } = { file_data: p.file_data }
    if (typeof p.filename === 'string') file.filename = p.filename
    return { type: 'file', file }
  }
  if (p.file_id) throw new TranslationError(`input_file.file_id refers to OpenAI's Files API, which provider ${b.provider} cannot read; send file_data`, `${at}.file_id`)
  if (p.file_url) throw new TranslationError(`input_file.file_url is not supported by provider ${b.provider}; send file_data`, `${at}.file_url`)
  throw new TranslationError('input_file needs file_data (a data: URL)', at)
}

/** A user-turn content part → a chat part; `output_text` is read as text. */
function userPart(p: ResponsesContentPart, at: string, b: Builder): OpenAIContentPart {
  switch (p.type) {
    case 'input_text':
    case 'output_text':
      return { type: 'text', text: p.text }
    case 'input_image':
      return imageUrl(p, at, b)
    case 'input_file':
      return filePart(p, at, b)
    case 'input_audio':
      return { type: 'input_audio', input_audio: { data: p.input_audio.data, format: p.input_audio.format } }
    default:
      return b.unsupported(`content part type '${(p as { type: string }).type}' in a user message`, at)
  }
}

/** Text of system, developer and assistant turns (text and refusal parts only). */
function plainText(content: string | ResponsesContentPart[], at: string, role: string, b: Builder): string {
  if (typeof content === 'string') return content
  let s = ''
  content.forEach((p, j) => {
    if (p.type === 'input_text' || p.type === 'output_text') s += p.text
    else if (p.type === 'refusal' && role === 'assistant') s += p.refusal
    else b.unsupported(`content part type '${p.type}' in a${role === 'assistant' ? 'n' : ''} ${role} message`, `${at}.content[${j}]`)
  })
  return s
}

function message(item: ResponsesMessageItem, at: string, b: Builder): void {
  const role = item.role
  switch (role) {
    case 'system':
    case 'developer': {
      const text = plainText(item.content, at, role, b)
      if (text) b.push({ role, content: text }, { at })
      return
    }
    case 'assistant': {
      const text = plainText(item.content, at, role, b)
      b.push({ role: 'assistant', content: text }, { at })
      return
    }
    case 'user': {
      if (typeof item.content === 'string') return b.push({ role: 'user', content: item.content }, { at })
      const parts = item.content.map((p, j) => userPart(p, `${at}.content[${j}]`, b))
      b.push({ role: 'user', content: parts }, { at, parts: item.content.map((_, j) => `${at}.content[${j}]`) })
      return
    }
    default:
      throw new TranslationError(`message role '${role}' is not supported (user, assistant, system, developer)`, `${at}.role`)
  }
}

function functionCall(item: Extract<ResponsesInputItem, { type: 'function_call' }>, at: string, b: Builder): void {
  const call = { id: item.call_id, type: 'function' as const, function: { name: item.name, arguments: item.arguments ?? '' } }
  b.calls.add(item.call_id)
  b.flushImages()
  // A turn's message and its calls arrive as separate items; chat wants them in one assistant message.
  const last = b.messages[b.messages.length - 1]
  if (last?.role === 'assistant') (last.tool_calls ??= []).push(call)
  else b.push({ role: 'assistant', content: null, tool_calls: [call] }, { at })
}

function functionCallOutput(item: Extract<ResponsesInputItem, { type: 'function_call_output' }>, at: string, b: Builder): void {
  if (!b.calls.has(item.call_id)) {
    throw new TranslationError(
      `function_call_output refers to call_id '${item.call_id}', which no earlier function_call item in input has ` +
        `(provider ${b.provider} keeps no previous responses: send the whole conversation)`,
      `${at}.call_id`,
    )
  }
  let text = ''
  if (typeof item.output === 'string') text = item.output
  else {
    item.output.forEach((p, j) => {
      const pat = `${at}.output[${j}]`
      if (p.type === 'input_text' || p.type === 'output_text') text += (text ? '\n' : '') + p.text
      else if (p.type === 'input_image') b.holdImage(imageUrl(p, pat, b), pat)
      else if (p.type === 'input_file') b.holdImage(filePart(p, pat, b), pat)
      else b.unsupported(`content part type '${p.type}' in a function_call_output`, pat)
    })
  }
  b.push({ role: 'tool', tool_call_id: item.call_id, content: text }, { at })
}

function input(req: ResponsesRequest, b: Builder): void {
  if (typeof req.instructions === 'string' && req.instructions) b.push({ role: 'system', content: req.instructions }, { at: 'instructions' })
  if (typeof req.input === 'string') {
    b.push({ role: 'user', content: req.input }, { at: 'input' })
    return
  }
  req.input.forEach((item, i) => {
    const at = `input[${i}]`
    const type = item.type ?? 'message'
    switch (type) {
      case 'message': return message(item as ResponsesMessageItem, at, b)
      case 'function_call': return functionCall(item as Extract<ResponsesInputItem, { type: 'function_call' }>, at, b)
      case 'function_call_output': return functionCallOutput(item as Extract<ResponsesInputItem, { type: 'function_call_output' }>, at, b)
      case 'reasoning': return // the model's own reasoning, echoed back: no other upstream can use it
      case 'item_reference':
        throw new TranslationError(`item_reference points at an item stored by OpenAI; provider ${b.provider} has no stored items: send the item itself`, at)
      default:
        return b.unsupported(`input item type '${type}'`, at)
    }
  })
  b.flushImages()
}

function functionTool(t: ResponsesTool, i: number, b: Builder): OpenAIFunctionTool {
  if (t.type !== 'function') {
    throw new TranslationError(
      `tool type '${t.type}' is a tool OpenAI runs itself; provider ${b.provider} cannot run it (only function tools translate)`,
      `tools[${i}]`,
    )
  }
  const f = t as ResponsesFunctionTool
  if (typeof f.name !== 'string' || f.name === '') throw new TranslationError('function tools need a name', `tools[${i}].name`)
  const fn: OpenAIFunctionTool['function'] = { name: f.name }
  if (typeof f.description === 'string' && f.description) fn.description = f.description
  if (isObject(f.parameters)) fn.parameters = f.parameters as JsonObject
  if (typeof f.strict === 'boolean') fn.strict = f.strict
  return { type: 'function', function: fn }
}

function tools(req: ResponsesRequest, b: Builder, body: OpenAIChatRequest, toolOrigins: number[]): void {
  const list = req.tools ?? []
  const chatTools = list.map((t, i) => functionTool(t, i, b))
  const tc = req.tool_choice
  let allowed: Set<string> | undefined
  let choice: OpenAIToolChoice | undefined
  if (tc === 'auto' || tc === 'none' || tc === 'required') choice = tc
  else if (isObject(tc)) {
    if (tc.type === 'function' && typeof tc.name === 'string') choice = { type: 'function', function: { name: tc.name } }
    else if (tc.type === 'allowed_tools' && (tc.mode === 'auto' || tc.mode === 'required') && Array.isArray(tc.tools)) {
      // Narrowing the offered list says the same as allowed_tools, to every upstream.
      allowed = new Set()
      ;(tc.tools as unknown[]).forEach((a, j) => {
        if (!isObject(a) || a.type !== 'function' || typeof a.name !== 'string') {
          throw new TranslationError(`allowed_tools may list function tools only for provider ${b.provider}`, `tool_choice.tools[${j}]`)
        }
        allowed!.add(a.name)
      })
      choice = tc.mode
    } else {
      throw new TranslationError(`tool_choice ${JSON.stringify(tc.type)} is not supported by provider ${b.provider} (auto, none, required, a function, allowed_tools)`, 'tool_choice')
    }
  } else if (tc !== undefined && tc !== null) {
    throw new TranslationError(`tool_choice '${String(tc)}' is not supported (auto, none, required, a function, allowed_tools)`, 'tool_choice')
  }
  const kept: OpenAIFunctionTool[] = []
  chatTools.forEach((t, i) => {
    if (allowed && !allowed.has(t.function.name)) return
    kept.push(t)
    toolOrigins.push(i)
  })
  if (kept.length) body.tools = kept
  if (choice && kept.length) body.tool_choice = choice
  if (typeof req.parallel_tool_calls === 'boolean' && kept.length) body.parallel_tool_calls = req.parallel_tool_calls
}

function responseFormat(req: ResponsesRequest, body: OpenAIChatRequest, dropped: string[]): void {
  const text = req.text as Record<string, unknown> | undefined
  if (!isObject(text)) return
  const f = text.format as Record<string, unknown> | undefined | null
  if (isObject(f)) {
    if (f.type === 'json_object') body.response_format = { type: 'json_object' }
    else if (f.type === 'json_schema') {
      const js: Extract<OpenAIResponseFormat, { type: 'json_schema' }>['json_schema'] = { name: typeof f.name === 'string' && f.name ? f.name : 'response' }
      if (isObject(f.schema)) js.schema = f.schema as JsonObject
      if (typeof f.description === 'string') js.description = f.description
      if (typeof f.strict === 'boolean') js.strict = f.strict
      body.response_format = { type: 'json_schema', json_schema: js }
    } else if (f.type !== 'text') {
      throw new TranslationError(`text.format type ${JSON.stringify(f.type)} is not supported (text, json_object, json_schema)`, 'text.format')
    }
  }
  if (typeof text.verbosity === 'string') body.verbosity = text.verbosity
  for (const k of Object.keys(text)) if (k !== 'format' && k !== 'verbosity' && text[k] != null) dropped.push(`text.${k}`)
}

function refuseServerState(req: ResponsesRequest, provider: string): void {
  const state = `provider ${provider} keeps no server-side state: send the whole conversation in input`
  if (req.previous_response_id) throw new TranslationError(`previous_response_id is not supported: ${state}`, 'previous_response_id')
  if (req.conversation != null) throw new TranslationError(`conversation is not supported: ${state}`, 'conversation')
  if (req.prompt != null) throw new TranslationError(`prompt (a stored prompt template) is not supported by provider ${provider}: send instructions and input`, 'prompt')
  if (req.background === true) throw new TranslationError(`background responses are not supported by provider ${provider}`, 'background')
}

/**
 * Responses request → chat request. Throws TranslationError (a 400 naming the Responses field) for
 * what no chat-style upstream can express; lists what it left out in `dropped`, by Responses name.
 * Expects a body that passed `assertResponsesRequest`.
 */
export function responsesToChatRequest(req: ResponsesRequest, opts: ResponsesToChatOptions = {}): ResponsesToChat {
  const provider = opts.provider ?? 'openai'
  const b = new Builder(provider)
  refuseServerState(req, provider)
  input(req, b)
  const body: OpenAIChatRequest = { model: req.model, messages: b.messages }
  const dropped = droppedParams(req, HANDLED)
  const toolOrigins: number[] = []
  tools(req, b, body, toolOrigins)
  if (typeof req.max_output_tokens === 'number') body[opts.maxTokensField ?? 'max_completion_tokens'] = req.max_output_tokens
  if (typeof req.temperature === 'number') body.temperature = req.temperature
  if (typeof req.top_p === 'number') body.top_p = req.top_p
  responseFormat(req, body, dropped)
  const r = req.reasoning
  if (isObject(r)) {
    if (typeof r.effort === 'string') body.reasoning_effort = r.effort
    if (r.summary != null || r.generate_summary != null) dropped.push('reasoning.summary')
  }
  if (typeof req.user === 'string') body.user = req.user
  for (const k of ['safety_identifier', 'prompt_cache_key', 'service_tier'] as const) if (req[k] != null) body[k] = req[k]
  if (req.store === true) dropped.push('store') // nothing is stored; store: false is what happens anyway
  if (Array.isArray(req.include) && req.include.length) dropped.push('include')
  if (req.truncation === 'auto') dropped.push('truncation')
  if (req.stream === true) {
    body.stream = true
    // A Responses stream always ends with usage in response.completed; ask the upstream for it.
    body.stream_options = { include_usage: true }
  }
  return { body, dropped, origins: b.origins, toolOrigins }
}

/** The Responses name of a chat parameter named by a later translator (in `dropped` or an error's `param`). */
export function responsesParamOf(param: string, t: Pick<ResponsesToChat, 'origins' | 'toolOrigins'>): string {
  const m = /^messages\[(\d+)\](.*)$/.exec(param)
  if (m) {
    const origin = t.origins[Number(m[1])]
    if (!origin) return 'input'
    const part = /^\.content\[(\d+)\](.*)$/.exec(m[2]!)
    if (part && origin.parts?.[Number(part[1])]) return origin.parts[Number(part[1])]! + part[2]
    if (m[2] === '.tool_call_id') return `${origin.at}.call_id`
    return origin.at
  }
  const tool = /^tools\[(\d+)\]/.exec(param)
  if (tool) return `tools[${t.toolOrigins[Number(tool[1])] ?? Number(tool[1])}]`
  return RESPONSES_NAME[param] ?? param
}
