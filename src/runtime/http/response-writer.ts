/**
 * Writes a proxied answer's body to the client, after startResponse() sent its head:
 * - batching: writes made in one tick leave together when it ends, so a body that arrives whole
 *   (one socket read carries data and end) goes out in one end() with a Content-Length, and a real
 *   stream loses nothing (the microtask runs before any I/O);
 * - backpressure: a congested client pauses the source until downstream.onWritable;
 * - every body byte passes the filters' onChunk hooks once (respond.ts passChunk), the last one too.
 *
 * hot path -- change with care: one writer per upstream exchange, no closure unless the client congests.
 */
import type { RequestContext } from '../types.js'
import { finishResponse, passChunk, sendChunk } from './respond.js'

/** What produces the body: paused while the client is congested; a throw while flushing fails it. */
export interface WriteSource {
  pause(): void
  resume(): void
  crashed(e: unknown): void
}

/**
 * Writers with a batch waiting for the tick to end. One microtask flushes them all, so batching
 * costs no closure per writer; `spare` is the emptied list of the last run, reused.
 */
const EMPTY = Buffer.alloc(0)
let due: ResponseWriter[] = []
let spare: ResponseWriter[] = []

function flushDue(): void {
  const list = due
  due = spare
  spare = list
  for (let i = 0; i < list.length; i++) list[i].flush()
  list.length = 0
}

export class ResponseWriter {
  /** The batch of this tick (allocated on the first write, reused after). */
  private parts: Buffer[] | undefined
  private resume: (() => void) | undefined

  constructor(private readonly ctx: RequestContext, private readonly source: WriteSource) {}

  /** Queues `chunk` for the end of this tick. */
  write(chunk: Buffer): void {
    let parts = this.parts
    if (parts === undefined) parts = this.parts = []
    if (parts.length === 0) {
      if (due.length === 0) queueMicrotask(flushDue)
      due.push(this)
    }
    parts.push(chunk)
  }

  /** Something is batched that the client has not been sent yet. */
  get pending(): boolean {
    return this.parts !== undefined && this.parts.length > 0
  }

  /** Sends the batch now (before an error event, or when the tick ends). */
  flush(): void {
    const parts = this.parts
    if (parts === undefined || parts.length === 0) return
    const chunk = parts.length === 1 ? parts[0] : Buffer.concat(parts)
    parts.length = 0
    const ctx = this.ctx
    if (ctx.finished) return
    try {
      if (!sendChunk(ctx, chunk)) {
        this.source.pause()
        ctx.downstream.onWritable((this.resume ??= () => this.source.resume()))
      }
    } catch (e) {
      this.source.crashed(e) // a microtask: outside the source's own error boundary
    }
  }

  /** Ends the response with whatever is still batched plus `last`, in one write. */
  end(last?: Buffer): void {
    const parts = this.parts
    let body = last
    if (parts !== undefined && parts.length > 0) {
      if (last !== undefined) parts.push(last)
      body = parts.length === 1 ? parts[0] : Buffer.concat(parts)
      parts.length = 0
    }
    // The last bytes pass the hooks marked as such, even when there are none (filters holding bytes back release them).
    if (body !== undefined || this.ctx.chain.onChunk.length > 0) body = passChunk(this.ctx, body ?? EMPTY, true) as Buffer
    finishResponse(this.ctx, body)
  }
}
