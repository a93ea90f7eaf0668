/**
 * Protocol translation for provider adapters: requests, whole responses, streams and errors,
 * between the two caller protocols (OpenAI Chat Completions, Anthropic Messages) and the four
 * upstream protocols (OpenAI, Anthropic, Gemini, Bedrock Converse). Pure functions and small
 * state machines; no I/O.
 *
 * Streams go upstream reader → canonical StreamSink → caller writer, so every caller/upstream
 * pair shares the same two halves. Requests from Anthropic callers are first made OpenAI
 * requests, then sent on, which keeps one request translator per upstream.
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
  OpenAIChatRequest, OpenAIChatResponse, OpenAIErrorBody, Translated,
} from './types.js'
import { bindTranslator, type UpstreamReader } from './stream-reader.js'
import { TranslationError } from './translation-error.js'
import { assertAnthropicRequest, assertOpenAIChatRequest } from './request-shape.js'
import { AnthropicStreamReader, fromAnthropicResponse } from './read-anthropic.js'
import { OpenAIStreamReader, fromOpenAIResponse } from './read-openai.js'
import { GeminiStreamReader, fromGeminiResponse } from './read-gemini.js'
import { BedrockStreamReader, fromBedrockResponse } from './read-bedrock.js'
import { OpenAISseWriter, toOpenAIResponse, type OpenAIWriterOptions } from './write-openai.js'
import { AnthropicSseWriter, toAnthropicResponse, type AnthropicWriterOptions } from './write-anthropic.js'
import { openAIToAnthropicRequest, type OpenAIToAnthropicOptions } from './openai-request-to-anthropic.js'
import { anthropicToOpenAIRequest, type AnthropicToOpenAIOptions } from './anthropic-request-to-openai.js'
import { openAIToGeminiRequest } from './openai-request-to-gemini.js'
import { openAIToBedrockRequest } from './openai-request-to-bedrock.js'
import {
  parseUpstreamError, toAnthropicError, toOpenAIError, type CallerError, type HeaderBag, type ProviderName,
} from './provider-errors.js'

export type CallerProtocol = 'openai' | 'anthropic'
export type UpstreamProtocol = ProviderName

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
  /** Upstream response body → caller response body. */
  response(body: unknown, opts?: { model?: string }): unknown
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
 * The translator for one caller/upstream pair, built once per cluster at compile time.
 * Same-protocol pairs are not offered: those bytes should be forwarded untouched.
 */
export function createProtocolTranslator(caller: CallerProtocol, upstream: UpstreamProtocol, opts: TranslatorOptions = {}): ProtocolTranslator {
  if (caller === upstream) throw new Error(`no translation needed from ${caller} to ${upstream}; forward the bytes`)
  const read = READERS[upstream]
  const parse = PARSERS[upstream]
  return {
    caller,
    upstream,
    check(body) {
      try {
        if (caller === 'openai') assertOpenAIChatRequest(body)
        else assertAnthropicRequest(body)
        return undefined
      } catch (e) {
        if (e instanceof TranslationError) return e
        throw e
      }
    },
    request(body) {
      // The shape is checked before any translator reads it: a bad field is a 400, never a crash.
      if (caller === 'openai') {
        assertOpenAIChatRequest(body)
        return fromOpenAIRequest(upstream, body as OpenAIChatRequest, opts)
      }
      assertAnthropicRequest(body)
      const first = anthropicToOpenAIRequest(body as AnthropicRequest, opts)
      const second = fromOpenAIRequest(upstream, first.body, opts)
      return { body: second.body, dropped: [...first.dropped, ...second.dropped] }
    },
    response(body, o = {}) {
      const c = parse(body, o)
      return caller === 'openai' ? toOpenAIResponse(c, o) : toAnthropicResponse(c, o)
    },
    stream(o = {}) {
      const w: SseWriter = caller === 'openai' ? new OpenAISseWriter(o) : new AnthropicSseWriter(o)
      return bindTranslator(read(w, o), w)
    },
    error(status, body, headers) {
      const e = parseUpstreamError(upstream, status, body, headers)
      return caller === 'openai' ? toOpenAIError(e) : toAnthropicError(e)
    },
  }
}

export type { GeminiRequest, BedrockRequest, AnthropicRequest, OpenAIChatRequest }
export type { StreamTranslator, CanonicalResponse } from './canonical.js'
export type { NormalizedUsage, Translated } from './types.js'
export { TranslationError } from './translation-error.js'
export { parseUpstreamError, toOpenAIError, toAnthropicError, callerError } from './provider-errors.js'
export { openAIToAnthropicRequest } from './openai-request-to-anthropic.js'
export { anthropicToOpenAIRequest } from './anthropic-request-to-openai.js'
export { openAIToGeminiRequest, geminiPath } from './openai-request-to-gemini.js'
export { openAIToBedrockRequest, bedrockPath } from './openai-request-to-bedrock.js'
export { createEventStreamDecoder, encodeEventStreamMessage } from './aws-event-stream.js'
export { bedrockEventFromMessage } from './read-bedrock.js'
export { usageFromOpenAI, usageFromAnthropic, usageFromGemini, usageFromBedrock } from './usage.js'
