/**
 * An Exchange (src/runtime/upstream/exchange.ts) that records what a response strategy asks of it,
 * for unit tests of the strategies without undici, sockets or a client: the heads it starts, the
 * bytes it writes and ends with, what it aborts or refuses with, and the stream verdicts.
 */
import type { RequestContext } from '../../src/runtime/types.js'
import type { Exchange, ExchangePlan, UpstreamHeaders } from '../../src/runtime/upstream/exchange.js'
import { createResponseHeaderPolicy } from '../../src/runtime/upstream/headers.js'

export interface FakeExchange extends Exchange {
  committed: boolean
  ended: boolean
  /** Everything asked of the exchange, in order: `head 200`, `write <text>`, `finish <text>`, `abort SY_…`, `refuse SY_…`, `settle`, `reopen`, `succeeded`, `failed`. */
  readonly calls: string[]
  readonly ctx: RequestContext
}

export function fakeExchange(plan: Partial<ExchangePlan> = {}, ctx: Partial<RequestContext> = {}): FakeExchange {
  const calls: string[] = []
  const code = (e: Error) => (e as { code?: string }).code ?? e.message
  const x: FakeExchange = {
    translator: undefined,
    caller: 'openai',
    model: 'm',
    op: 'chat',
    injectedUsage: false,
    upstreamProtocol: 'openai',
    responseHeaders: createResponseHeaderPolicy([]),
    ...plan,
    ctx: { json: { model: 'm', messages: [] }, attempt: undefined, usage: undefined, ...ctx } as RequestContext,
    ended: false,
    committed: false,
    calls,
    forwardHead: (status: number, _headers: UpstreamHeaders) => void calls.push(`head ${status}`),
    openStream: () => void calls.push('head 200 (stream)'),
    write: (chunk: Buffer) => {
      x.committed = true
      calls.push(`write ${chunk.toString('utf8')}`)
    },
    finish: (last?: Buffer) => void calls.push(`finish ${last?.toString('utf8') ?? ''}`),
    abort: (e: Error) => void calls.push(`abort ${code(e)}`),
    refuse: (e: Error) => void calls.push(`refuse ${code(e)}`),
    streamSucceeded: () => void calls.push('succeeded'),
    streamFailed: () => void calls.push('failed'),
    crashed: (e: unknown) => void calls.push(`crashed ${(e as Error).message}`),
    settle: () => {
      x.ended = true
      calls.push('settle')
    },
    reopen: () => {
      x.ended = false
      calls.push('reopen')
    },
  }
  return x
}
