/**
 * Protocol translation for provider adapters: requests, whole responses, streams and errors,
 * between the three caller protocols (OpenAI Chat Completions, Anthropic Messages, OpenAI
 * Responses) and the four upstream protocols (OpenAI, Anthropic, Gemini, Bedrock Converse). Pure
 * functions and small state machines; no I/O.
 *
 * Streams go upstream reader → canonical StreamSink → caller writer, so every caller/upstream
 * pair shares the same two halves. Requests from Anthropic and Responses callers are first made
 * OpenAI chat requests, then sent on, which keeps one request translator per upstream.
 *
 * @example
 * const t = createProtocolTranslator('openai', 'anthropic')
 * const { body, dropped } = t.request(callerBody)          // log `dropped` as a warning
 * const stream = t.stream({ model: callerBody.model, includeUsage: true })
 * for (const ev of sseParser.push(chunk)) client.write(stream.push(ev))
 * client.end(stream.end()); metrics.record(stream.usage())
 */
import type { SseEvent } from '../sse/sse-parser.js'
import type { EventStreamMessage } from './aws-event-stream.js'
import type { CanonicalResponse, SseWriter, StreamTranslator } from './canonical.js'
import type {
  AnthropicErrorBody, AnthropicRequest, AnthropicResponse, BedrockRequest, BedrockResponse, GeminiRequest, GeminiResponse,
  OpenAIChatRequest, OpenAIChatResponse, OpenAIErrorBody, ResponsesRequest, Translated,
} from './types.js'
import { bindTranslator, type UpstreamReader } from './stream-reader.js'
import { TranslationError } from './translation-error.js'
import { assertAnthropicRequest, assertOpenAIChatRequest, assertResponsesRequest, shapeError } from './request-shape.js'
import { AnthropicStreamReader, fromAnthropicResponse } from './read-anthropic.js'
import { OpenAIStreamReader, fromOpenAIResponse } from './read-openai.js'
import { GeminiStreamReader, fromGeminiResponse } from './read-gemini.js'
import { BedrockStreamReader, fromBedrockResponse } from './read-bedrock.js'
import { OpenAISseWriter, toOpenAIResponse, type OpenAIWriterOptions } from './write-openai.js'
import { AnthropicSseWriter, toAnthropicResponse, type AnthropicWriterOptions } from './write-anthropic.js'
import { ResponsesSseWriter, toResponsesResponse } from './write-responses.js'
import { openAIToAnthropicRequest, type OpenAIToAnthropicOptions } from './openai-request-to-anthropic.js'
import { anthropicToOpenAIRequest, type AnthropicToOpenAIOptions } from './anthropic-request-to-openai.js'
import { openAIToGeminiRequest } from './openai-request-to-gemini.js'
import { openAIToBedrockRequest } from './openai-request-to-bedrock.js'
import { responsesParamOf, responsesToChatRequest } from './responses-request-to-chat.js'
import {
  parseUpstreamError, toAnthropicError, toOpenAIError, type CallerError, type HeaderBag,
} from './provider-errors.js'

/** `openai` is Chat Completions, `responses` the OpenAI Responses API (`POST /v1/responses`). */
import type { CallerProtocol, UpstreamProtocol } from '../../../protocols.js'
export type { CallerProtocol, UpstreamProtocol }

// ---------------------------------------------------------------- responses, named by direction

export function anthropicResponseToOpenAI(res: AnthropicResponse, opts?: { model?: string }): OpenAIChatResponse {
  return toOpenAIResponse(fromAnthropicResponse(res), opts)
}
export function geminiResponseToOpenAI(res: GeminiResponse, opts?: { model?: string }): OpenAIChatResponse {
  return toOpenAIResponse(fromGeminiResponse(res, opts), opts)
}
export function bedrockResponseToOpenAI(res: BedrockResponse, opts?: { model?: string }): OpenAIChatResponse {
  return toOpenAIResponse(fromBedrockResponse(res, opts), opts)
}
export function openAIResponseToAnthropic(res: OpenAIChatResponse, opts?: { model?: string }): AnthropicResponse {
  return toAnthropicResponse(fromOpenAIResponse(res), opts)
}
export function geminiResponseToAnthropic(res: GeminiResponse, opts?: { model?: string }): AnthropicResponse {
  return toAnthropicResponse(fromGeminiResponse(res, opts), opts)
}
export function bedrockResponseToAnthropic(res: BedrockResponse, opts?: { model?: string }): AnthropicResponse {
  return toAnthropicResponse(fromBedrockResponse(res, opts), opts)
}

// ---------------------------------------------------------------- streams, named by direction

export function createAnthropicToOpenAIStreamTranslator(opts: OpenAIWriterOptions = {}): StreamTranslator<SseEvent> {
  const w = new OpenAISseWriter(opts)
  return bindTranslator(new AnthropicStreamReader(w), w)
}
export function createGeminiToOpenAIStreamTranslator(opts: OpenAIWriterOptions = {}): StreamTranslator<SseEvent> {
  const w = new OpenAISseWriter(opts)
  return bindTranslator(new GeminiStreamReader(w, opts), w)
}
export function createBedrockToOpenAIStreamTranslator(opts: OpenAIWriterOptions = {}): StreamTranslator<EventStreamMessage> {
  const w = new OpenAISseWriter(opts)
  return bindTranslator(new BedrockStreamReader(w, opts), w)
}
export function createOpenAIToAnthropicStreamTranslator(opts: AnthropicWriterOptions = {}): StreamTranslator<SseEvent> {
  const w = new AnthropicSseWriter(opts)
  return bindTranslator(new OpenAIStreamReader(w), w)
}
export function createGeminiToAnthropicStreamTranslator(opts: AnthropicWriterOptions = {}): StreamTranslator<SseEvent> {
  const w = new AnthropicSseWriter(opts)
  return bindTranslator(new GeminiStreamReader(w, opts), w)
}
export function createBedrockToAnthropicStreamTranslator(opts: AnthropicWriterOptions = {}): StreamTranslator<EventStreamMessage> {
  const w = new AnthropicSseWriter(opts)
  return bindTranslator(new BedrockStreamReader(w, opts), w)
}

// ---------------------------------------------------------------- one object per caller/upstream pair

export interface StreamOptions {
  /** The model name the caller used; echoed in every chunk. */
  model?: string
  /** OpenAI callers: the request's `stream_options.include_usage`. */
  includeUsage?: boolean
  /** Responses callers: the request body, whose tools, tool_choice, temperature… the response object echoes. */
  request?: unknown
}

export interface TranslatorOptions extends OpenAIToAnthropicOptions, AnthropicToOpenAIOptions {}

export interface ProtocolTranslator {
  readonly caller: CallerProtocol
  readonly upstream: UpstreamProtocol
  /**
   * Caller request body → upstream request body (Gemini and Bedrock take the model in the URL).
   * Throws TranslationError, also for a body whose shape the translators cannot read.
   */
  request(body: unknown): Translated<unknown>
  /** The TranslationError `request` would throw for a body whose shape it cannot read, if any. */
  check(body: unknown): TranslationError | undefined
  /** Upstream response body → caller response body (`request`: as in StreamOptions). */
  response(body: unknown, opts?: { model?: string; request?: unknown }): unknown
  /** A fresh stream translator; Bedrock's consumes decoded event-stream messages, the rest SSE events. */
  stream(opts?: StreamOptions): StreamTranslator<any>
  /** Upstream error (status, body, headers) → caller error (status, headers incl. retry-after, body). */
  error(status: number, body?: unknown, headers?: HeaderBag): CallerError<OpenAIErrorBody | AnthropicErrorBody>
}

type Reader = (sink: SseWriter, opts: { model?: string }) => UpstreamReader<any>
const READERS: Record<UpstreamProtocol, Reader> = {
  openai: (w) => new OpenAIStreamReader(w),
  anthropic: (w) => new AnthropicStreamReader(w),
  gemini: (w, o) => new GeminiStreamReader(w, o),
  bedrock: (w, o) => new BedrockStreamReader(w, o),
}
const PARSERS: Record<UpstreamProtocol, (body: any, opts: { model?: string }) => CanonicalResponse> = {
  openai: (b) => fromOpenAIResponse(b),
  anthropic: (b) => fromAnthropicResponse(b),
  gemini: (b, o) => fromGeminiResponse(b, o),
  bedrock: (b, o) => fromBedrockResponse(b, o),
}

function fromOpenAIRequest(upstream: UpstreamProtocol, req: OpenAIChatRequest, opts: TranslatorOptions): Translated<unknown> {
  switch (upstream) {
    case 'openai': return { body: req, dropped: [] }
    case 'anthropic': return openAIToAnthropicRequest(req, opts)
    case 'gemini': return openAIToGeminiRequest(req)
    case 'bedrock': return openAIToBedrockRequest(req)
  }
}

/**
 * Responses → chat → upstream. A later translator's errors and dropped names are said again in
 * Responses terms (`input[2].content[0]`, `max_output_tokens`), since those are what the caller sent.
 */
function fromResponsesRequest(upstream: UpstreamProtocol, req: ResponsesRequest, opts: TranslatorOptions): Translated<unknown> {
  const first = responsesToChatRequest(req, { maxTokensField: opts.maxTokensField, provider: upstream })
  let second: Translated<unknown>
  try {
    second = fromOpenAIRequest(upstream, first.body, opts)
  } catch (e) {
    if (e instanceof TranslationError && e.param !== null) throw new TranslationError(e.message, responsesParamOf(e.param, first))
    throw e
  }
  const dropped = new Set(first.dropped)
  for (const d of second.dropped) dropped.add(responsesParamOf(d, first))
  return { body: second.body, dropped: [...dropped] }
}

/** An upstream error's chat-side param in Responses terms; per-message detail is not known here. */
function responsesErrorParam(param: string): string {
  return param.startsWith('messages') ? 'input' : responsesParamOf(param, { origins: [], toolOrigins: [] })
}

/**
 * The translator for one caller/upstream pair, built once per cluster at compile time.
 * Same-protocol pairs are not offered: those bytes should be forwarded untouched.
 */
export function createProtocolTranslator(caller: CallerProtocol, upstream: UpstreamProtocol, opts: TranslatorOptions = {}): ProtocolTranslator {
  if (caller === upstream) throw new Error(`no translation needed from ${caller} to ${upstream}; forward the bytes`)
  // ('responses', 'openai') is offered: it serves the Responses API from a chat-completions-only upstream.
  const read = READERS[upstream]
  const parse = PARSERS[upstream]
  return {
    caller,
    upstream,
    check(body) {
      return shapeError(caller === 'openai' ? assertOpenAIChatRequest : caller === 'responses' ? assertResponsesRequest : assertAnthropicRequest, body)
    },
    request(body) {
      // The shape is checked before any translator reads it: a bad field is a 400, never a crash.
      if (caller === 'openai') {
        assertOpenAIChatRequest(body)
        return fromOpenAIRequest(upstream, body as OpenAIChatRequest, opts)
      }
      if (caller === 'responses') {
        assertResponsesRequest(body)
        return fromResponsesRequest(upstream, body as ResponsesRequest, opts)
      }
      assertAnthropicRequest(body)
      const first = anthropicToOpenAIRequest(body as AnthropicRequest, opts)
      const second = fromOpenAIRequest(upstream, first.body, opts)
      return { body: second.body, dropped: [...first.dropped, ...second.dropped] }
    },
    response(body, o = {}) {
      const c = parse(body, o)
      if (caller === 'responses') return toResponsesResponse(c, o)
      return caller === 'openai' ? toOpenAIResponse(c, o) : toAnthropicResponse(c, o)
    },
    stream(o = {}) {
      const w: SseWriter = caller === 'openai' ? new OpenAISseWriter(o) : caller === 'responses' ? new ResponsesSseWriter(o) : new AnthropicSseWriter(o)
      return bindTranslator(read(w, o), w)
    },
    error(status, body, headers) {
      const e = parseUpstreamError(upstream, status, body, headers)
      if (caller === 'anthropic') return toAnthropicError(e)
      const ce = toOpenAIError(e)
      // Responses errors are OpenAI error JSON; only the field names differ (`input`, not `messages`).
      if (caller === 'responses' && ce.body.error.param) ce.body.error.param = responsesErrorParam(ce.body.error.param)
      return ce
    },
  }
}

export type { GeminiRequest, BedrockRequest, AnthropicRequest, OpenAIChatRequest }
export type { StreamTranslator, CanonicalResponse } from './canonical.js'
export type { NormalizedUsage, Translated, ResponsesRequest, ResponsesResponse } from './types.js'
export { TranslationError } from './translation-error.js'
export { parseUpstreamError, toOpenAIError, toAnthropicError, callerError } from './provider-errors.js'
export { openAIToAnthropicRequest } from './openai-request-to-anthropic.js'
export { anthropicToOpenAIRequest } from './anthropic-request-to-openai.js'
export { openAIToGeminiRequest, geminiPath } from './openai-request-to-gemini.js'
export { openAIToBedrockRequest, bedrockPath } from './openai-request-to-bedrock.js'
export { createEventStreamDecoder, encodeEventStreamMessage } from './aws-event-stream.js'
export { bedrockEventFromMessage } from './read-bedrock.js'
export { usageFromOpenAI, usageFromAnthropic, usageFromGemini, usageFromBedrock } from './usage.js'
export { responsesToChatRequest, responsesParamOf } from './responses-request-to-chat.js'
export { toResponsesResponse, ResponsesSseWriter } from './write-responses.js'
export { usageFromResponses } from './responses-envelope.js'
export { assertResponsesRequest } from './request-shape.js'
