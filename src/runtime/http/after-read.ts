/**
 * Runs request work once uWS has finished parsing the socket read the request arrived in.
 *
 * uWS parses every request in one read in a single pass, calling our handler for each, with the
 * socket corked. Until that pass ends a request can still lose its connection: uWS closes it when
 * the next request arrives while this one's response is pending (it does not pipeline), or when it
 * cannot frame the bytes after our handler returned (a bad Content-Length, broken chunking). And a
 * reply written during the pass is only corked: uWS drops it if it closes the connection later in
 * the pass, and a `Connection: close` reply does not keep uWS from handing us the request behind it.
 *
 * Queued work runs in the event loop's check phase, right after the poll phase that parsed the
 * read, so by then every such close has happened (and fired onAborted). A request aborted by then
 * is dropped: it is never forwarded, and a reply is never written after the one it would follow.
 * Cost: one setImmediate per loop turn, shared by all requests parsed in it.
 */
import type { UwsDownstream } from './downstream.js'
import { log } from '../../shared/log.js'

let downs: UwsDownstream[] = []
let jobs: (() => void)[] = []
let scheduled = false

function run(): void {
  const d = downs
  const j = jobs
  downs = []
  jobs = []
  scheduled = false
  for (let i = 0; i < j.length; i++) {
    if (d[i].aborted) continue
    try {
      j[i]()
    } catch (e) {
      // Nothing may escape into the loop (it would take the other queued requests with it).
      log('error', 'request failed before dispatch', { error: (e as Error)?.message ?? String(e) })
      d[i].close()
    }
  }
}

// hot path
/** Runs `job` after the current uWS read is parsed, unless `down` was aborted by then. */
export function afterRead(down: UwsDownstream, job: () => void): void {
  downs.push(down)
  jobs.push(job)
  if (!scheduled) {
    scheduled = true
    setImmediate(run)
  }
}
