/**
 * One attempt's answer, captured as it arrives for a rule that records content on its spans
 * (content-capture.ts formats and redacts it): every choice's text, tool calls and finish, read by
 * the translation hub's own upstream readers — the JSON parsers (fromOpenAIResponse…) for a whole
 * answer, the stream readers driving a collecting StreamSink for a stream, read-responses.ts for an
 * OpenAI upstream's Responses answers in pass-through. Nothing here parses a wire format of its
 * own: the response strategies hand over what they decoded anyway (AnswerContent in types.ts).
 */
import type { AnswerContent, AnswerProtocol } from '../../types.js'
import type { CanonicalResponse, StopReason, StreamFailure, StreamSink } from '../../providers/translate/canonical.js'
import type { UpstreamReader } from '../../providers/translate/stream-reader.js'
import { OpenAIStreamReader, fromOpenAIResponse } from '../../providers/translate/read-openai.js'
import { AnthropicStreamReader, fromAnthropicResponse } from '../../providers/translate/read-anthropic.js'
import { GeminiStreamReader, fromGeminiResponse } from '../../providers/translate/read-gemini.js'
import { BedrockStreamReader, fromBedrockResponse } from '../../providers/translate/read-bedrock.js'
import { ResponsesStreamReader, fromResponsesResponse } from '../../providers/translate/read-responses.js'

const READERS: Record<AnswerProtocol, (sink: StreamSink) => UpstreamReader<any>> = {
  openai: (s) => new OpenAIStreamReader(s),
  responses: (s) => new ResponsesStreamReader(s),
  anthropic: (s) => new AnthropicStreamReader(s),
  gemini: (s) => new GeminiStreamReader(s, {}),
  bedrock: (s) => new BedrockStreamReader(s, {}),
}
const PARSERS: Record<AnswerProtocol, (body: any) => CanonicalResponse> = {
  openai: (b) => fromOpenAIResponse(b),
  responses: (b) => fromResponsesResponse(b),
  anthropic: (b) => fromAnthropicResponse(b),
  gemini: (b) => fromGeminiResponse(b),
  bedrock: (b) => fromBedrockResponse(b),
}

interface CapturedTool {
  id: string
  name: string
  args: string
}

/** One choice of an answer: its text and tool calls, and why it stopped (undefined until it did). */
export class CapturedChoice {
  text = ''
  readonly tools: CapturedTool[] = []
  stop: StopReason | undefined = undefined
  /** The hub reader of this choice's stream (created on its first event). */
  reader: UpstreamReader<any> | undefined = undefined

  constructor(readonly index: number) {}
}

/** Choices past this are not kept (an `n` that large is a benchmark, not a conversation). */
const MAX_CHOICES = 128

/**
 * One attempt's answer as it arrives: every choice's text and tool calls, kept up to `limit`
 * characters in all, and each choice's finish. The hub's readers read one choice; an OpenAI
 * answer with `n > 1` is split by choice index, each choice read by its own reader. A stream that
 * never finished (some choice without a finish) records no output. Never throws: telemetry must
 * not fail the answer it watches.
 */
export class AnswerCapture implements AnswerContent {
  /** By choice index; holes are choices that never appeared. */
  readonly choices: CapturedChoice[] = []
  failed = false
  private kept = 0

  constructor(private readonly limit: number) {}

  /** Choice 0's text (what a one-choice answer said). */
  get text(): string {
    return this.choices[0]?.text ?? ''
  }

  whole(protocol: AnswerProtocol, body: unknown): void {
    try {
      const many = protocol === 'openai' ? (body as { choices?: unknown } | null)?.choices : undefined
      if (Array.isArray(many) && many.length > 1) {
        // n > 1: the hub's parser reads choice 0, so each choice is handed over as a one-choice answer.
        for (let i = 0; i < many.length && i < MAX_CHOICES; i++) this.wholeChoice(this.choice(indexOf(many[i], i)), PARSERS.openai({ ...(body as object), choices: [many[i]] }))
      } else this.wholeChoice(this.choice(0), PARSERS[protocol](body))
    } catch {
      this.failed = true
    }
  }

  event(protocol: AnswerProtocol, event: unknown): void {
    if (this.failed) return
    try {
      if (protocol === 'openai') return this.openAIEvent(event)
      const c = this.choice(0)
      ;(c.reader ??= READERS[protocol](this.sinkOf(c))).read(event)
    } catch {
      this.failed = true
    }
  }

  /** Whether the answer arrived whole, every choice finished (only then is there an output to record). */
  get complete(): boolean {
    if (this.failed || this.choices.length === 0) return false
    for (const c of this.choices) if (c !== undefined && c.stop === undefined) return false
    return true
  }

  private choice(index: number): CapturedChoice {
    return (this.choices[index] ??= new CapturedChoice(index))
  }

  private wholeChoice(c: CapturedChoice, r: CanonicalResponse): void {
    for (const p of r.parts) {
      if (p.type === 'text') this.append(c, p.text)
      else {
        this.toolStart(c, c.tools.length, p.id, p.name)
        this.toolArgs(c, c.tools.length - 1, p.arguments)
      }
    }
    c.stop = r.stop
  }

  /**
   * An OpenAI chunk (an SSE event or its decoded data). The usual chunk carries choice 0 alone and
   * goes to its reader as it is; one naming other choices is split, one chunk per choice.
   */
  private openAIEvent(event: unknown): void {
    let chunk = event as { data?: unknown; choices?: unknown }
    if (typeof chunk?.data === 'string') {
      if (chunk.data === '[DONE]') return
      chunk = JSON.parse(chunk.data)
    }
    const list = chunk?.choices
    if (Array.isArray(list) && (list.length > 1 || (list.length === 1 && indexOf(list[0], 0) !== 0))) {
      for (const one of list) {
        const i = indexOf(one, 0)
        if (i >= MAX_CHOICES) continue
        const c = this.choice(i)
        ;(c.reader ??= READERS.openai(this.sinkOf(c))).read({ ...chunk, choices: [one] })
      }
      return
    }
    const c = this.choice(0)
    ;(c.reader ??= READERS.openai(this.sinkOf(c))).read(chunk)
  }

  /** What the hub's stream readers drive, for one choice (one per choice, not per event). */
  private sinkOf(c: CapturedChoice): StreamSink {
    return {
      start: () => {},
      text: (s) => this.append(c, s),
      reasoning: () => {},
      toolStart: (index, id, name) => this.toolStart(c, index, id, name),
      toolArgs: (index, fragment) => this.toolArgs(c, index, fragment),
      toolEnd: () => {},
      finish: (reason) => {
        c.stop = reason
      },
      usage: () => {},
      error: (_f: StreamFailure) => {
        this.failed = true
      },
      close: () => {},
    }
  }

  private toolStart(c: CapturedChoice, index: number, id: string, name: string): void {
    if (index >= 128) return
    c.tools[index] = { id, name, args: '' }
  }

  private toolArgs(c: CapturedChoice, index: number, fragment: string): void {
    const t = c.tools[index]
    if (t === undefined || this.kept >= this.limit) return
    const piece = fragment.length > this.limit - this.kept ? fragment.slice(0, this.limit - this.kept) : fragment
    t.args += piece
    this.kept += piece.length
  }

  private append(c: CapturedChoice, s: string): void {
    if (this.kept >= this.limit) return
    const piece = s.length > this.limit - this.kept ? s.slice(0, this.limit - this.kept) : s
    c.text += piece
    this.kept += piece.length
  }
}

/** A choice's `index` when it is a sane one, else its position. */
function indexOf(choice: unknown, fallback: number): number {
  const i = (choice as { index?: unknown } | null)?.index
  return typeof i === 'number' && Number.isInteger(i) && i >= 0 && i < MAX_CHOICES ? i : fallback
}
