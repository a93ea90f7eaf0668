/** Real local HTTP servers on port 0 for the health-check and metrics-poll tests, torn down with the test. */
import type { TestContext } from 'node:test'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Agent } from 'undici'
import { startHttpServer } from './http-server.js'
import { EVENTUALLY_MS, eventually } from './eventually.js'

/** Starts a server; resolves to its origin, `http://127.0.0.1:<port>`. */
export async function serve(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = await startHttpServer(handler)
  t.after(() => void server.close())
  return server.origin
}

/**
 * A private connection pool per test: a port reused by a later test's server must not meet a
 * stale keep-alive socket from an earlier one.
 */
export function agent(t: TestContext): Agent {
  const a = new Agent()
  t.after(() => a.destroy())
  return a
}

/** Polls `cond` every 5 ms (these servers are in-process: cheap to ask often) until it holds; see eventually.ts. */
export function waitFor(cond: () => boolean, ms = EVENTUALLY_MS, what = 'condition'): Promise<void> {
  return eventually(cond, ms, what, 5)
}
