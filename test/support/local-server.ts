/** Real local HTTP servers on port 0 for the health-check and metrics-poll tests, torn down with the test. */
import type { TestContext } from 'node:test'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Agent } from 'undici'
import { startHttpServer } from './http-server.js'

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

/** Polls `cond` every 5 ms; fails the test after `ms`. */
export async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}
