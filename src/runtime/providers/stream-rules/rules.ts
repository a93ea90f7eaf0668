/**
 * What every protocol's stream rules share: the base class SseUsageTap drives (usage-tap.ts), the
 * members the event scan spots for them, and small readers of a scanned event. One rules object
 * per stream: it keeps what the stream said so far (usage, its end, whether it is still opening).
 */
import type { AnswerFacts, Usage } from '../../types.js'
import type { ScannedEvent } from '../sse/event-scan.js'

/** The members the tap's event scan spots in an event's JSON, by their index in the spotter. */
export const SCAN_KEYS = ['usage', 'finish_reason', 'role', 'choices', 'type']
export const K_USAGE = 0
export const K_FINISH = 1
export const K_ROLE = 2
export const K_CHOICES = 3
export const K_TYPE = 4
/** Spotted only for a traced answer (SCAN_KEYS + 'model': OpenAI chunks carry the model in every event). */
export const K_MODEL = 5

/**
 * One protocol's rules for a streamed answer, applied to each whole event the tap forwards:
 * completion, usage, the event to drop, the opening. `facts` (a traced attempt) also gets the
 * answer's model and finish reasons; undefined costs nothing.
 */
export abstract class StreamRules {
  usage: Usage | undefined = undefined
  /** The protocol's end went by (`[DONE]`, `message_stop`, a Responses terminal event): the answer is whole. */
  complete = false
  /** Every event so far was an opening: the tap still judges each one. */
  judging = true
  /** The protocol ends a stream with a bare `data: [DONE]` (not JSON): OpenAI's. */
  readonly doneMarker: boolean = false

  constructor(protected readonly facts: AnswerFacts | undefined) {}

  /**
   * The rules for one event read by scanEvent (JSON checked, SCAN_KEYS spotted in `ev.keys`),
   * decoding its data only when a spotted member needs it; true when the event must be dropped.
   */
  abstract scanned(b: Buffer, ev: ScannedEvent): boolean

  /** The rules on an event decoded whole (`type`: its `event:` field); true when it must be dropped. */
  abstract parsed(type: string | undefined, j: any): boolean

  /** Is this decoded event part of the stream's opening (nothing the caller needs to see yet)? */
  abstract isOpening(type: string | undefined, j: any): boolean

  /** After the events of one read: settle what scanned() left for then. */
  endOfRead(_b: Buffer): void {}

  /** A stream that closed without its end marker is whole anyway (only OpenAI's can be). */
  finishedWithoutMarker(): boolean {
    return false
  }
}

export const isObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v)

/** An event scanEvent read, decoded after all (its JSON was checked, so this cannot throw). */
export const dataOf = (b: Buffer, ev: ScannedEvent): unknown => JSON.parse(b.toString('utf8', ev.dataStart, ev.dataEnd))
