/**
 * An in-memory Downstream for socket-free dispatch tests (Hono's `app.request()` idea): records the
 * status, headers and every chunk with a timestamp, and can simulate a congested client
 * (write() returning false until drain()) and a client that goes away (abort()).
 *
 * Callback semantics follow UwsDownstream (src/runtime/http/downstream.ts): onAbort and onWritable
 * hold one callback each, a later registration replaces the earlier one, and a response that has
 * ended can no longer be aborted.
 */
import type { Downstream } from '../../src/runtime/types.js'

export interface RecordedChunk {
  readonly data: Buffer
  /** performance.now() when the chunk was written. */
  readonly at: number
  /** True for the chunk passed to end(). */
  readonly last: boolean
}

export interface MemoryDownstreamOptions {
  /**
   * Simulated backpressure: after this many writes since the last drain(), write() returns false
   * and the downstream stays congested until drain() is called. Default: never congested.
   */
  readonly congestAfterWrites?: number
  /** The client's address as remoteAddress() reports it (default 127.0.0.1). */
  readonly peer?: string
}

export class MemoryDownstream implements Downstream {
  aborted = false
  status: number | undefined
  headers: [string, string][] = []
  readonly chunks: RecordedChunk[] = []
  ended = false
  closed = false
  /** Calls that should not happen: writes or end after end or after abort, writeHead twice. */
  readonly misuse: string[] = []
  /** write() calls made while congested, i.e. the source did not wait for onWritable. */
  writesWhileCongested = 0
  /** Resolves once the response ended, the connection was closed or the client aborted. */
  readonly done: Promise<void>

  private congested = false
  private writesSinceDrain = 0
  private writableCallback: (() => void) | undefined
  private abortCallback: (() => void) | undefined
  private resolveDone!: () => void

  constructor(private readonly opts: MemoryDownstreamOptions = {}) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve))
  }

  onAbort(cb: () => void): void {
    this.abortCallback = cb
  }

  onWritable(cb: () => void): void {
    this.writableCallback = cb
  }

  writeHead(status: number, headers: readonly (readonly [string, string])[]): void {
    if (this.status !== undefined) this.misuse.push('writeHead twice')
    this.status = status
    this.headers = headers.map(([k, v]) => [k, v])
  }

  write(chunk: Uint8Array | string): boolean {
    this.record(chunk, false, 'write')
    if (this.opts.congestAfterWrites !== undefined && ++this.writesSinceDrain >= this.opts.congestAfterWrites) this.congested = true
    return !this.congested
  }

  end(chunk?: Uint8Array | string): void {
    if (chunk !== undefined && chunk.length > 0) this.record(chunk, true, 'end')
    else if (this.ended || this.aborted) this.misuse.push(this.ended ? 'end after end' : 'end after abort')
    this.ended = true
    this.abortCallback = undefined
    this.resolveDone()
  }

  close(): void {
    this.closed = true
    this.resolveDone()
  }

  /** The address a test gave (`peer`), as uWS reports one: '' once the response ended or the client left. */
  remoteAddress(): string {
    return this.ended || this.aborted ? '' : this.opts.peer ?? '127.0.0.1'
  }

  // ---- test controls ----

  get isCongested(): boolean {
    return this.congested
  }

  /** The client caught up: clear congestion and run the onWritable callbacks once. */
  drain(): void {
    this.congested = false
    this.writesSinceDrain = 0
    const cb = this.writableCallback
    this.writableCallback = undefined
    cb?.()
  }

  /** The client went away (ignored once the response ended, as uWS does). */
  abort(): void {
    if (this.aborted || this.ended) return
    this.aborted = true
    const cb = this.abortCallback
    this.abortCallback = undefined
    cb?.()
    this.resolveDone()
  }

  // ---- reading what was sent ----

  text(): string {
    return Buffer.concat(this.chunks.map((c) => c.data)).toString('utf8')
  }

  json(): any {
    return JSON.parse(this.text())
  }

  header(name: string): string | undefined {
    const n = name.toLowerCase()
    return this.headers.find(([k]) => k.toLowerCase() === n)?.[1]
  }

  /** `data:` payloads of the SSE events in the body, in order (`[DONE]` included as a string). */
  sseData(): string[] {
    return this.text()
      .split('\n\n')
      .filter((e) => e.trim() !== '')
      .map((e) => e.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'))
  }

  private record(chunk: Uint8Array | string, last: boolean, op: string): void {
    if (this.ended) this.misuse.push(`${op} after end`)
    if (this.aborted) this.misuse.push(`${op} after abort`)
    if (this.congested && op === 'write') this.writesWhileCongested++
    this.chunks.push({ data: typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk), at: performance.now(), last })
  }
}
