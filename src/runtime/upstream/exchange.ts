/**
 * The contract between an upstream exchange (upstream-call.ts) and the response strategies that
 * answer the client from it (pass-through, translate-response, error-answer, hold-for-retry): the
 * strategy is picked when the response starts and sees its body as undici's handler hooks would.
 */
import type { UpstreamProtocol } from '../../compiler/ir.js'
import type { RequestContext } from '../types.js'
import type { Operation } from '../providers/caller.js'
import type { CallerProtocol, ProtocolTranslator } from '../providers/translate/index.js'
import type { ResponseHeaderPolicy } from './headers.js'

export type UpstreamHeaders = Record<string, string | string[] | undefined>

/** One upstream response, as a strategy sees it: undici's onResponseStart / Data / End without the controller. */
export interface ResponseStrategy {
  /** The client sees a stream: a failure after its first bytes ends it with an error event (or a continuation). */
  readonly streaming: boolean
  start(status: number, headers: UpstreamHeaders): void
  data(chunk: Buffer): void
  end(): void
  /** The exchange is over (answered, failed or abandoned): drop what is held, stop timers. */
  stop?(): void
}

/** What forward.ts decided about the request, read by the strategies. */
export interface ExchangePlan {
  readonly translator: ProtocolTranslator | undefined
  readonly caller: CallerProtocol
  readonly model: string
  readonly op: Operation
  /** The gateway asked for stream usage itself: the extra chunk is stripped. */
  readonly injectedUsage: boolean
  readonly upstreamProtocol: UpstreamProtocol
  readonly responseHeaders: ResponseHeaderPolicy
}

export interface Exchange extends ExchangePlan {
  readonly ctx: RequestContext
  /** The exchange ended (answered, failed, abandoned): timers and writes are over. */
  readonly ended: boolean
  /** Body bytes reached the client, or a continuation resumed its stream: no retry, no new status now. */
  readonly committed: boolean
  /** Starts the client response with the upstream's allowed headers (a continuation only marks it committed). */
  forwardHead(status: number, headers: UpstreamHeaders): void
  /** Starts the client response as an SSE stream of translated events (likewise). */
  openStream(): void
  /** Body bytes for the client: rewritten for a continuation, recorded for one, batched to the writer. */
  write(chunk: Buffer): void
  /** Ends the response with what is batched plus `last`. */
  finish(last?: Buffer): void
  /** Stops the upstream; undici reports the reason through onResponseError (the failure path). */
  abort(reason: Error): void
  /** The answer, read to its end, cannot be delivered: the failure path (retry, fail over, or an error). */
  refuse(reason: Error): void
  /** A stream judged at its end: it completed. */
  streamSucceeded(): void
  /** A stream judged at its end: it carried the upstream's error, so the endpoint is blamed. */
  streamFailed(): void
  /** A throw outside undici's callbacks (a timer): fail only this request. */
  crashed(e: unknown): void
  /** Hold-for-retry: end this attempt without answering (the next one may start at once). */
  settle(): void
  /** Hold-for-retry: the settled attempt answers after all (nothing took the failure over). */
  reopen(): void
}
