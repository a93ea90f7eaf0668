/**
 * The request shapes the translators read, checked before they read them: a hostile or careless
 * body (`null`, `messages: [null]`, `content: 5`, `tools: "x"`) gets a 400 naming the field in
 * the caller's protocol instead of a TypeError deep inside a translator.
 *
 * Each shape is data compiled once into a checker (ajv's idea, without ajv on the request path).
 * Only what a translator dereferences is checked; values a translator merely copies or tests with
 * `typeof` are left to the provider, and unknown roles, part and block types pass so the
 * translator can reject them with its own, more specific message. Pass-through routes never run
 * these checks: their bytes go upstream untouched.
 */
import { TranslationError } from './translation-error.js'

/** Returns undefined when `v` fits, else throws a TranslationError naming `at`. */
type Check = (v: unknown, at: string) => void

const fail = (at: string, expected: string): never => {
  throw new TranslationError(`${at || 'request body'} must be ${expected}`, at || null)
}
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const join = (at: string, key: string) => (at ? `${at}.${key}` : key)

const str: Check = (v, at) => { if (typeof v !== 'string') fail(at, 'a string') }
const bool: Check = (v, at) => { if (typeof v !== 'boolean') fail(at, 'a boolean') }
const anyObject: Check = (v, at) => { if (!isObject(v)) fail(at, 'an object') }

/** Absent (undefined or null) or fitting `c`. */
const opt = (c: Check): Check => (v, at) => { if (v !== undefined && v !== null) c(v, at) }

function arrayOf(item: Check, what: string): Check {
  return (v, at) => {
    if (!Array.isArray(v)) fail(at, `an array of ${what}`)
    const a = v as unknown[]
    for (let i = 0; i < a.length; i++) item(a[i], `${at}[${i}]`)
  }
}

function object(fields: Record<string, Check>, what = 'an object'): Check {
  const keys = Object.keys(fields)
  return (v, at) => {
    if (!isObject(v)) fail(at, what)
    const o = v as Record<string, unknown>
    for (const k of keys) fields[k](o[k], join(at, k))
  }
}

/** An object whose `key` (a string) picks the rest of its shape; unknown tags pass. */
function tagged(key: string, shapes: Record<string, Record<string, Check>>, what: string): Check {
  const compiled: Record<string, Check> = {}
  for (const [tag, fields] of Object.entries(shapes)) compiled[tag] = object(fields)
  return (v, at) => {
    if (!isObject(v)) fail(at, what)
    const tag = (v as Record<string, unknown>)[key]
    if (typeof tag !== 'string') fail(join(at, key), 'a string')
    const c = Object.hasOwn(compiled, tag as string) ? compiled[tag as string] : undefined
    c?.(v, at)
  }
}

/** String, or an array of items. */
function textOr(items: Check, what: string): Check {
  return (v, at) => {
    if (typeof v === 'string') return
    if (!Array.isArray(v)) fail(at, `a string or an array of ${what}`)
    items(v, at)
  }
}

// ---------------------------------------------------------------- OpenAI Chat Completions

const openAIPart = tagged('type', {
  text: { text: str },
  image_url: { image_url: object({ url: str }) },
  file: { file: object({ file_data: opt(str), filename: opt(str) }) },
  input_audio: { input_audio: object({ data: str, format: str }) },
  refusal: { refusal: str },
}, 'a content part object')
const openAIContent = textOr(arrayOf(openAIPart, 'content parts'), 'content parts')
const toolCall = object({ id: str, function: object({ name: str, arguments: opt(str) }) }, 'a tool call object')

const openAIMessage = tagged('role', {
  system: { content: opt(openAIContent) },
  developer: { content: opt(openAIContent) },
  user: { content: openAIContent },
  assistant: { content: opt(openAIContent), refusal: opt(str), tool_calls: opt(arrayOf(toolCall, 'tool calls')) },
  tool: { tool_call_id: str, content: opt(openAIContent) },
}, 'a message object')

const openAITool = object({ type: str, function: opt(object({ name: opt(str), description: opt(str), parameters: opt(anyObject) })) }, 'a tool object')
const openAIToolChoice: Check = (v, at) => {
  if (v === undefined || v === null || typeof v === 'string') return
  object({ type: str, function: object({ name: str }) }, 'a string or a tool choice object')(v, at)
}
const stop: Check = (v, at) => { if (v !== undefined && v !== null && typeof v !== 'string') arrayOf(str, 'strings')(v, at) }

const openAIChatRequest = object({
  model: str,
  messages: arrayOf(openAIMessage, 'message objects'),
  tools: opt(arrayOf(openAITool, 'tool objects')),
  tool_choice: openAIToolChoice,
  parallel_tool_calls: opt(bool),
  stop,
  stream: opt(bool),
  stream_options: opt(anyObject),
  response_format: opt(object({ type: str, json_schema: opt(object({ schema: opt(anyObject) })) })),
  user: opt(str),
}, 'a JSON object')

// ---------------------------------------------------------------- Anthropic Messages

const source = tagged('type', {
  base64: { media_type: str, data: str },
  url: { url: str },
  text: { data: str },
}, 'a source object')
const anthropicInnerBlock = tagged('type', { text: { text: str }, image: { source } }, 'a content block object')
const anthropicBlock = tagged('type', {
  text: { text: str },
  image: { source },
  document: { source, title: opt(str) },
  tool_use: { id: str, name: str },
  tool_result: { tool_use_id: str, content: opt(textOr(arrayOf(anthropicInnerBlock, 'content blocks'), 'content blocks')) },
}, 'a content block object')
const anthropicMessage = object({ role: str, content: textOr(arrayOf(anthropicBlock, 'content blocks'), 'content blocks') }, 'a message object')

const anthropicRequest = object({
  model: str,
  messages: arrayOf(anthropicMessage, 'message objects'),
  system: opt(textOr(arrayOf(object({ text: str }, 'a text block object'), 'text blocks'), 'text blocks')),
  stop_sequences: opt(arrayOf(str, 'strings')),
  tools: opt(arrayOf(object({ name: opt(str), type: opt(str), description: opt(str), input_schema: opt(anyObject) }, 'a tool object'), 'tool objects')),
  tool_choice: opt(object({ type: str, name: opt(str), disable_parallel_tool_use: opt(bool) }, 'a tool choice object')),
  metadata: opt(object({ user_id: opt(str) })),
  stream: opt(bool),
}, 'a JSON object')

/** Throws a TranslationError (answered 400, `param` = the field) when `body` cannot be translated safely. */
export function assertOpenAIChatRequest(body: unknown): void {
  openAIChatRequest(body, '')
}

export function assertAnthropicRequest(body: unknown): void {
  anthropicRequest(body, '')
}

// ---------------------------------------------------------------- OpenAI Responses API

const responsesPart = tagged('type', {
  input_text: { text: str },
  output_text: { text: str },
  refusal: { refusal: str },
  input_image: { image_url: opt(str), file_id: opt(str) },
  input_file: { file_data: opt(str), file_id: opt(str), file_url: opt(str), filename: opt(str) },
  input_audio: { input_audio: object({ data: str, format: str }) },
}, 'a content part object')
const responsesContent = textOr(arrayOf(responsesPart, 'content parts'), 'content parts')
const responsesMessage = { role: str, content: responsesContent }
const responsesTaggedItem = tagged('type', {
  message: responsesMessage,
  function_call: { call_id: str, name: str, arguments: opt(str) },
  function_call_output: { call_id: str, output: responsesContent },
}, 'an input item object')
const responsesMessageOnly = object(responsesMessage, 'an input item object')

/** Input items are tagged by `type`, except "easy" messages, which may carry only role and content. */
const responsesItem: Check = (v, at) => {
  if (isObject(v) && v.type === undefined) responsesMessageOnly(v, at)
  else responsesTaggedItem(v, at)
}

const responsesToolChoice: Check = (v, at) => {
  if (v === undefined || v === null || typeof v === 'string') return
  object({ type: str, name: opt(str), mode: opt(str), tools: opt(arrayOf(anyObject, 'tool objects')) }, 'a string or a tool choice object')(v, at)
}

const responsesRequest = object({
  model: str,
  input: textOr(arrayOf(responsesItem, 'input items'), 'input items'),
  instructions: opt(str),
  tools: opt(arrayOf(object({ type: str, name: opt(str), description: opt(str), parameters: opt(anyObject), strict: opt(bool) }, 'a tool object'), 'tool objects')),
  tool_choice: responsesToolChoice,
  parallel_tool_calls: opt(bool),
  stream: opt(bool),
  text: opt(object({ format: opt(object({ type: str, name: opt(str), schema: opt(anyObject), strict: opt(bool) })), verbosity: opt(str) })),
  reasoning: opt(object({ effort: opt(str), summary: opt(str) })),
  metadata: opt(anyObject),
  user: opt(str),
  store: opt(bool),
  background: opt(bool),
  previous_response_id: opt(str),
  include: opt(arrayOf(str, 'strings')),
}, 'a JSON object')

/** The Responses API request (`POST /v1/responses`): `input` a string or an array of input items. */
export function assertResponsesRequest(body: unknown): void {
  responsesRequest(body, '')
}

/** The TranslationError `assert` throws for `body`, if any (other exceptions propagate). */
export function shapeError(assert: (body: unknown) => void, body: unknown): TranslationError | undefined {
  try {
    assert(body)
    return undefined
  } catch (e) {
    if (e instanceof TranslationError) return e
    throw e
  }
}
