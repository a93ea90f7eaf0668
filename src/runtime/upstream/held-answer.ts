/**
 * The base of every strategy that reads an answer whole before anything is sent (a JSON body to
 * vouch for or translate, an error to scrub, a status held for a retry): collects it, refusing it
 * past its limit instead of buffering without bound.
 */
import { RefusedAnswer } from '../errors.js'
import type { Exchange, ResponseStrategy, UpstreamHeaders } from './exchange.js'

/** Error answers are held whole (to retry, translate and scrub them); real ones are a few hundred bytes. */
export const ERROR_BODY_LIMIT = 256 * 1024

export abstract class HeldAnswer implements ResponseStrategy {
  readonly streaming: boolean = false
  protected status = 0
  protected headers: UpstreamHeaders | undefined
  protected readonly parts: Buffer[] = []
  protected size = 0

  constructor(protected readonly x: Exchange, private readonly limit: number) {}

  start(status: number, headers: UpstreamHeaders): void {
    this.status = status
    this.headers = headers
  }

  data(chunk: Buffer): void {
    this.size += chunk.length
    if (this.size > this.limit) {
      this.x.abort(new RefusedAnswer('SY_TOO_LARGE', `upstream answer exceeds ${this.limit} bytes`))
      return
    }
    this.parts.push(chunk)
  }

  abstract end(): void

  protected body(): Buffer {
    const parts = this.parts
    return parts.length === 1 ? parts[0] : Buffer.concat(parts)
  }

  /** `body` as JSON when it parses, else as text (error answers are not always JSON). */
  protected parse(body: Buffer): unknown {
    const text = body.toString('utf8')
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }
}
