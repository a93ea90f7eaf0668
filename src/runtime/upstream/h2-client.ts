/**
 * The undici Client behind each connection of an HTTP/2 pool, with one repair. undici 7.16 loses
 * a stream slot whenever the server resets a stream (RST_STREAM → the stream's 'error' event): the
 * request fails, but the client's running count never drops (its 'end' path advances the running
 * index, its error path does not). After `max_concurrent_streams` resets a connection takes no
 * more requests and `close()` waits forever. The repair advances the index as the 'end' path
 * does, at the moment undici reports that error, before it resumes its queue.
 * test/runtime/upstream/h2-client.test.ts pins the bug and the repair against undici itself.
 */
import { createRequire } from 'node:module'
import type { Dispatcher } from 'undici'
import type * as Undici from 'undici'

const require = createRequire(import.meta.url)
const Client: typeof Undici.Client = require('undici/lib/dispatcher/client.js')
const symbols: Record<string, symbol> = require('undici/lib/core/symbols.js')
const kQueue = symbols.kQueue
const kRunningIdx = symbols.kRunningIdx
const kPendingIdx = symbols.kPendingIdx

type Slots = Record<symbol, any>

/** `factory` for an HTTP/2 Pool: every connection's Client repairs its count after a stream reset. */
export function createH2Client(origin: URL | string, options: object): Dispatcher {
  const client = new Client(origin, options as Undici.Client.Options)
  const slots = client as unknown as Slots
  const dispatch = client.dispatch.bind(client)
  // The Pool hands each Client its own per-request adapter of the caller's handler (undici's
  // UnwrapHandler, old-style hooks): its onError is where undici reports the reset.
  client.dispatch = (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => {
    const h = handler as { onError?: (err: Error) => void }
    const onError = h.onError
    if (typeof onError === 'function') {
      h.onError = (err: Error) => {
        if ((err as { code?: string }).code === 'ERR_HTTP2_STREAM_ERROR') giveSlotBack(slots)
        return onError.call(h, err)
      }
    }
    return dispatch(opts, handler)
  }
  return client
}

/** What undici's own 'end' path does for a finished stream: the running index moves on. */
function giveSlotBack(c: Slots): void {
  if (c[kRunningIdx] < c[kPendingIdx]) c[kQueue][c[kRunningIdx]++] = null
}
