/**
 * Holds a stream's opening (OpenAI role chunk, Anthropic message_start) until real output follows,
 * so a stream that fails right after it still counts as failing before the first byte and can be
 * retried or failed over invisibly. Held for OPENING_HOLD_MS at most: a model that thinks for a
 * long time before its first token must not leave the client without even response headers.
 */

/** How long a stream's opening alone may be held back waiting for real output. */
export const OPENING_HOLD_MS = 1000

/** Where the opening goes: the exchange's write path. */
export interface OpeningSink {
  /** The exchange is over: a late release sends nothing. */
  readonly ended: boolean
  write(chunk: Buffer): void
  crashed(e: unknown): void
}

export class OpeningHold {
  private held: Buffer | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly sink: OpeningSink) {}

  /** Keeps `opening` back (after any opening already held). */
  hold(opening: Buffer): void {
    this.held = this.held === undefined ? opening : Buffer.concat([this.held, opening])
    this.timer ??= setTimeout(releaseHeld, OPENING_HOLD_MS, this)
  }

  /** The held opening, no longer held: the caller sends it or drops it. */
  take(): Buffer | undefined {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    const held = this.held
    this.held = undefined
    return held
  }

  /** Real output follows: what was held goes first. */
  release(): void {
    const held = this.take()
    if (held === undefined || this.sink.ended) return
    this.sink.write(held)
  }

  /** The hold time is up: the opening goes out as it is. */
  expire(): void {
    try {
      this.release()
    } catch (e) {
      this.sink.crashed(e) // runs from a timer: outside undici's callbacks
    }
  }
}

/** The timer's callback (the hold is its argument: no closure per stream). */
function releaseHeld(hold: OpeningHold): void {
  hold.expire()
}
