/**
 * Runs one batch line on this worker through the same dispatch as a request from a socket:
 * routing, filters (limits, budgets), translation, retries and fallback. The main thread chose this
 * in-worker entry over a loopback HTTP request to the gateway's own listener because the line runs
 * as the identity that created the batch, already resolved — no caller credential is stored or
 * replayed, the listener's auth filters do not run again — and because it needs no socket, port or
 * body cap of its own. The answer is collected in memory and posted back.
 */
import type { Downstream } from '../types.js'
import type { Gateway } from '../gateway.js'
import type { BatchLine, BatchLineResult } from '../../control/batches/messages.js'
import { dispatch } from '../http/dispatch.js'
import { refuseLine } from './line-admission.js'

/** Collects the answer; `abort()` is the line timeout (the upstream call stops, as for a client that left). */
class CollectingDownstream implements Downstream {
  aborted = false
  status = 0
  private readonly parts: Buffer[] = []
  private abortCallback: (() => void) | undefined
  constructor(private readonly done: (d: CollectingDownstream, closed: boolean) => void) {}

  onAbort(cb: () => void): void {
    this.abortCallback = cb
  }
  onWritable(): void {}
  writeHead(status: number): void {
    this.status = status
  }
  write(chunk: Uint8Array | string): boolean {
    this.parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk))
    return true
  }
  end(chunk?: Uint8Array | string): void {
    if (chunk !== undefined) this.write(chunk)
    this.abortCallback = undefined
    this.done(this, false)
  }
  close(): void {
    this.done(this, true)
  }
  /** No socket: '' (an auth filter that counts failures per source does not count a line). */
  remoteAddress(): string {
    return ''
  }
  abort(): void {
    if (this.aborted) return
    this.aborted = true
    const cb = this.abortCallback
    this.abortCallback = undefined
    cb?.()
  }
  text(): string {
    return Buffer.concat(this.parts).toString('utf8')
  }
}

export function runLine(gateway: Gateway, line: BatchLine, reply: (r: BatchLineResult) => void): void {
  const snap = gateway.current
  const listener = snap?.listeners.get(line.port)
  if (snap === undefined || listener === undefined) {
    return reply({ status: 0, requestId: line.requestId, body: '', error: { code: 'listener_gone', message: `no listener on port ${line.port} any more (a reload removed it)` } })
  }
  if (line.identity !== undefined) {
    const refused = refuseLine(snap, line.identity, modelOf(line.body), Date.now())
    if (refused !== undefined) return reply({ status: refused.status, requestId: line.requestId, body: refused.body.toString('utf8') })
  }
  const live = gateway.enter()
  let answered = false
  const finish = (d: CollectingDownstream, closed: boolean) => {
    if (answered) return
    answered = true
    clearTimeout(timer)
    if (d.aborted) reply({ status: 0, requestId: line.requestId, body: '', error: { code: 'line_timeout', message: `the line did not finish within ${line.timeoutMs} ms` } })
    else if (closed) reply({ status: 0, requestId: line.requestId, body: d.text(), error: { code: 'line_failed', message: 'the answer broke off before it was complete' } })
    else reply({ status: d.status, requestId: line.requestId, body: d.text() })
  }
  const down = new CollectingDownstream(finish)
  const timer = setTimeout(() => {
    down.abort()
    finish(down, false)
  }, line.timeoutMs)
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': line.requestId }
  dispatch(live.snapshot, listener, { method: line.method, path: line.path, query: '', headers, body: Buffer.from(line.body), identity: line.identity }, down, () => gateway.leave(live))
}

function modelOf(body: string): string | undefined {
  try {
    const m = (JSON.parse(body) as { model?: unknown }).model
    return typeof m === 'string' ? m : undefined
  } catch {
    return undefined
  }
}
