/**
 * Incremental Server-Sent Events parser, after the WHATWG "event stream interpretation" algorithm.
 *
 * Bytes may arrive split anywhere: inside a line, inside a CRLF pair, inside a multi-byte UTF-8
 * sequence. A streaming TextDecoder reassembles characters; lines are cut with indexOf, so the work
 * per chunk is a few native scans rather than a loop over bytes.
 *
 * @example
 * const parser = createSseParser()
 * for await (const chunk of body) for (const ev of parser.push(chunk)) handle(ev)
 * parser.end()
 */

export interface SseEvent {
  /** The `event:` field; absent means the default type ("message"). */
  event?: string
  data: string
  /** The last `id:` seen on this stream (it persists across events, as the spec says). */
  id?: string
  /** A `retry:` value seen in this event, in milliseconds. */
  retry?: number
}

export interface SseParserOptions {
  /**
   * Dispatch a final event that is not followed by a blank line when the stream ends.
   * The spec discards it; a gateway may prefer to keep a trailing usage event from a sloppy
   * upstream. Default false.
   */
  dispatchIncompleteOnEnd?: boolean
  /** Called for every comment line (`:` prefix), without the colon. Default: ignored. */
  onComment?: (text: string) => void
}

const NO_EVENTS: readonly SseEvent[] = Object.freeze([])

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8') // strips a leading BOM, as the spec requires
  private readonly opts: SseParserOptions
  private rest = '' // an unterminated line carried over from the previous chunk
  private skipLf = false // the previous chunk ended with CR; an LF opening the next one belongs to it
  private data = ''
  private hasData = false
  private eventType = ''
  private lastId = ''
  private retry: number | undefined
  private out: SseEvent[] | null = null

  constructor(opts: SseParserOptions = {}) {
    this.opts = opts
  }

  /** Feeds one chunk; returns the events it completed (often none). */
  push(chunk: Uint8Array | string): readonly SseEvent[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true })
    this.scan(text)
    return this.take()
  }

  /** Characters held for an event not yet complete (an unterminated line plus its data so far). */
  get pendingChars(): number {
    return this.rest.length + this.data.length
  }

  /** Signals end of stream; returns a trailing event only with `dispatchIncompleteOnEnd`. */
  end(): readonly SseEvent[] {
    const tail = this.decoder.decode()
    if (tail) this.scan(tail)
    if (this.opts.dispatchIncompleteOnEnd) {
      if (this.rest) this.line(this.rest)
      this.dispatch()
    }
    this.rest = ''
    this.data = ''
    this.hasData = false
    return this.take()
  }

  private take(): readonly SseEvent[] {
    const out = this.out
    if (out === null) return NO_EVENTS
    this.out = null
    return out
  }

  // hot path -- change with care: one indexOf pair per line, no per-byte work.
  private scan(text: string): void {
    let i = 0
    if (this.skipLf) {
      this.skipLf = false
      if (text.charCodeAt(0) === 10) i = 1
    }
    const n = text.length
    let cr = text.indexOf('\r', i)
    let lf = text.indexOf('\n', i)
    while (i < n) {
      if (cr !== -1 && cr < i) cr = text.indexOf('\r', i)
      if (lf !== -1 && lf < i) lf = text.indexOf('\n', i)
      let end: number
      let next: number
      if (cr === -1 && lf === -1) break
      if (lf === -1 || (cr !== -1 && cr < lf)) {
        end = cr
        if (cr + 1 < n) next = text.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1
        else {
          next = cr + 1
          this.skipLf = true
        }
      } else {
        end = lf
        next = lf + 1
      }
      let line = text.slice(i, end)
      if (this.rest) {
        line = this.rest + line
        this.rest = ''
      }
      this.line(line)
      i = next
    }
    if (i < n) this.rest = this.rest ? this.rest + text.slice(i) : text.slice(i)
  }

  private line(line: string): void {
    if (line.length === 0) {
      this.dispatch()
      return
    }
    const colon = line.indexOf(':')
    if (colon === 0) {
      this.opts.onComment?.(line.slice(1))
      return
    }
    let field: string
    let value: string
    if (colon === -1) {
      field = line
      value = ''
    } else {
      field = line.slice(0, colon)
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1)
    }
    switch (field) {
      case 'data':
        this.data = this.hasData ? this.data + '\n' + value : value
        this.hasData = true
        break
      case 'event':
        this.eventType = value
        break
      case 'id':
        if (value.indexOf('\0') === -1) this.lastId = value
        break
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value)
        break
      default:
        break // unknown fields are ignored
    }
  }

  private dispatch(): void {
    if (!this.hasData) {
      this.eventType = ''
      this.retry = undefined
      return
    }
    const ev: SseEvent = { data: this.data }
    if (this.eventType) ev.event = this.eventType
    if (this.lastId) ev.id = this.lastId
    if (this.retry !== undefined) ev.retry = this.retry
    this.data = ''
    this.hasData = false
    this.eventType = ''
    this.retry = undefined
    if (this.out === null) this.out = [ev]
    else this.out.push(ev)
  }
}

export function createSseParser(opts?: SseParserOptions): SseParser {
  return new SseParser(opts)
}
