/** Glue between an upstream reader and a caller writer: JSON parsing, usage tracking, framing. */
import type { SseEvent } from '../sse/sse-parser.js'
import type { SseWriter, StreamTranslator } from './canonical.js'
import type { NormalizedUsage } from './types.js'

/** Reads one upstream protocol's stream events and drives a sink. */
export interface UpstreamReader<In> {
  read(event: In): void
  /** The upstream ended; lets the reader flush what it held back. */
  end(): void
  usage(): NormalizedUsage
}

export function bindTranslator<In>(reader: UpstreamReader<In>, writer: SseWriter): StreamTranslator<In> {
  return {
    push(event: In): string {
      reader.read(event)
      return writer.take()
    },
    end(): string {
      reader.end()
      writer.close()
      return writer.take()
    },
    usage: () => reader.usage(),
    failure: () => writer.failure,
    substantive: () => writer.substantive,
    answer: () => ({ model: writer.upstreamModel, stop: writer.stopReason }),
  }
}

/** Parses an SSE event's JSON data; undefined (and a sink error) when it is not JSON. */
export function parseEventJson(ev: SseEvent, onError: (message: string) => void): any {
  try {
    return JSON.parse(ev.data)
  } catch {
    onError(`upstream sent an event that is not JSON: ${ev.data.slice(0, 100)}`)
    return undefined
  }
}
