/**
 * The provider-neutral middle that lets any upstream reader drive any caller writer, so N
 * upstreams and M caller protocols need N + M modules rather than N × M.
 */
import type { NormalizedUsage } from './types.js'

/** Why generation stopped, in one vocabulary. `stop_sequence` is kept apart from `stop` because
 *  Anthropic callers distinguish them. */
export type StopReason = 'stop' | 'stop_sequence' | 'length' | 'tool_calls' | 'content_filter'

export type CanonicalPart =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; id: string; name: string; arguments: string }

/** A whole (non-streamed) assistant turn. */
export interface CanonicalResponse {
  id: string
  model: string
  created?: number
  parts: CanonicalPart[]
  reasoning?: string
  stop: StopReason
  stopSequence?: string | null
  usage: NormalizedUsage
}

/** An error reported inside a stream that already answered 200. */
export interface StreamFailure {
  /** The HTTP status this error would have had outside a stream. */
  status: number
  message: string
}

/**
 * Events of a streamed assistant turn. Readers call these in upstream order; writers turn them
 * into caller-protocol SSE text. Tool indexes are dense (0, 1, 2…) in order of first appearance.
 */
export interface StreamSink {
  start(meta: { id?: string; model?: string }): void
  text(text: string): void
  reasoning(text: string): void
  toolStart(index: number, id: string, name: string): void
  toolArgs(index: number, fragment: string): void
  /** The upstream said this tool call is complete (not every upstream does). */
  toolEnd(index: number): void
  finish(reason: StopReason, stopSequence?: string | null): void
  /** Cumulative usage; may be called more than once, the last call wins. */
  usage(usage: NormalizedUsage): void
  error(failure: StreamFailure): void
  /** The upstream stream ended. */
  close(): void
}

/** A sink whose output is already-framed SSE text, collected until `take()`. */
export interface SseWriter extends StreamSink {
  take(): string
  /** Set once error() was called (an upstream error event, an unreadable event, an early end). */
  readonly failure: StreamFailure | undefined
  /** More than the opening (OpenAI role chunk, Anthropic message_start) has been written. */
  readonly substantive: boolean
  /** The model the upstream's stream named (its reader's start()), and the finish it reported. */
  readonly upstreamModel?: string | undefined
  readonly stopReason?: StopReason | undefined
}

/** What the runtime plugs into a streaming adapter. */
export interface StreamTranslator<In> {
  /** Feeds one upstream event; returns SSE text for the client, possibly empty. */
  push(event: In): string
  /** The upstream ended; returns the closing SSE text. */
  end(): string
  /** Usage the upstream reported so far. */
  usage(): NormalizedUsage
  /** Why the stream failed, once it has (the client's error event is in the text returned). */
  failure(): StreamFailure | undefined
  /** Whether anything beyond the stream's opening has been produced. */
  substantive(): boolean
  /** The model the upstream named and the finish it reported so far (for telemetry). */
  answer?(): { model: string | undefined; stop: StopReason | undefined }
}

export function emptyUsage(): NormalizedUsage {
  return { inputTokens: 0, outputTokens: 0 }
}
