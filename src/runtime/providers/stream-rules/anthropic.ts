/** Anthropic Messages streams: `message_stop` ends them, `message_start` / `ping` open them, usage comes in two halves. */
import type { ScannedEvent } from '../sse/event-scan.js'
import { usageFromAnthropic } from '../translate/usage.js'
import { EventNames } from './event-names.js'
import { dataOf, isObject, K_TYPE, K_USAGE, StreamRules } from './rules.js'

const STOP = new EventNames(['message_stop'])
const OPENINGS = new EventNames(['message_start', 'ping'])

export class AnthropicStreamRules extends StreamRules {
  scanned(b: Buffer, ev: ScannedEvent): boolean {
    const k = ev.keys
    if (STOP.find(b, ev.nameStart, ev.nameEnd) >= 0 || STOP.findString(b, k.top[K_TYPE], ev.dataEnd) >= 0) this.complete = true
    if (k.seen[K_USAGE] > 0) this.record(dataOf(b, ev))
    if (this.judging && OPENINGS.find(b, ev.nameStart, ev.nameEnd) < 0) this.judging = false
    return false
  }

  parsed(type: string | undefined, j: any): boolean {
    if (type === 'message_stop' || j?.type === 'message_stop') this.complete = true
    this.record(j)
    return false
  }

  isOpening(type: string | undefined): boolean {
    return type === 'message_start' || type === 'ping'
  }

  /** Input tokens arrive in message_start, output tokens in message_delta. */
  private record(j: any): void {
    const facts = this.facts
    if (facts !== undefined) {
      // message_start names the model, message_delta says why it stopped: both carry usage, so both are decoded anyway.
      if (j?.type === 'message_start' && typeof j.message?.model === 'string') facts.model = j.message.model
      else if (j?.type === 'message_delta' && typeof j.delta?.stop_reason === 'string') facts.finishReasons = [j.delta.stop_reason]
    }
    const u = j?.type === 'message_start' ? j.message?.usage : j?.usage
    if (!isObject(u)) return
    const next = usageFromAnthropic(u)
    this.usage = this.usage ? { ...this.usage, ...next, inputTokens: next.inputTokens || this.usage.inputTokens } : next
  }
}
