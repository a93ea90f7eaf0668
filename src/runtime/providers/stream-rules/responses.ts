/** OpenAI Responses API streams: a terminal event ends them, `response.created` / `response.in_progress` open them. */
import type { ScannedEvent } from '../sse/event-scan.js'
import { usageFromResponses } from '../translate/responses-envelope.js'
import { responsesFinish } from '../answer-facts.js'
import { EventNames } from './event-names.js'
import { dataOf, isObject, K_TYPE, K_USAGE, StreamRules } from './rules.js'

/** The Responses API ends a stream with one of the first four, as the provider decided; the last two open it. */
const TYPES = new EventNames(['response.completed', 'response.failed', 'response.incomplete', 'error', 'response.created', 'response.in_progress'])
const ENDS = 4

export class ResponsesStreamRules extends StreamRules {
  scanned(b: Buffer, ev: ScannedEvent): boolean {
    const k = ev.keys
    const t = ev.nameStart >= 0 ? TYPES.find(b, ev.nameStart, ev.nameEnd) : TYPES.findString(b, k.top[K_TYPE], ev.dataEnd)
    if (t >= 0 && t < ENDS) this.complete = true
    if (k.seen[K_USAGE] > 0) this.record(dataOf(b, ev))
    if (this.judging && t < ENDS) this.judging = false
    return false
  }

  parsed(type: string | undefined, j: any): boolean {
    const t = TYPES.strings.indexOf(type ?? j?.type)
    if (t >= 0 && t < ENDS) this.complete = true
    this.record(j)
    return false
  }

  isOpening(type: string | undefined, j: any): boolean {
    return TYPES.strings.indexOf(type ?? j?.type) >= ENDS
  }

  private record(j: any): void {
    const facts = this.facts
    const r = j?.response
    if (facts !== undefined && r !== null && typeof r === 'object') {
      if (typeof r.model === 'string') facts.model = r.model
      if (typeof r.status === 'string') facts.finishReasons = [responsesFinish(r.status, r.incomplete_details)]
    }
    const u = j?.response?.usage
    if (isObject(u)) this.usage = usageFromResponses(u)
  }
}
