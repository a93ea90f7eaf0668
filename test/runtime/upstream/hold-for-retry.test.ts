/**
 * Hold-for-retry wraps the exchange's response handler: a status the route may retry is read whole
 * while the client sees nothing, then either handed to the retry layer or replayed into the
 * wrapped handler exactly as it arrived.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HoldForRetry } from '../../../src/runtime/upstream/hold-for-retry.js'
import { ERROR_BODY_LIMIT } from '../../../src/runtime/upstream/held-answer.js'
import type { ResponseStrategy } from '../../../src/runtime/upstream/exchange.js'
import type { AttemptControl, UpstreamFailure } from '../../../src/runtime/types.js'
import { fakeExchange } from '../../support/fake-exchange.js'

/** An attempt control that records what it is offered and takes it over when `takes`. */
function attempt(takes: boolean): AttemptControl & { offered: UpstreamFailure[] } {
  const offered: UpstreamFailure[] = []
  return { offered, takeOver: (f: UpstreamFailure) => (offered.push(f), takes) } as unknown as AttemptControl & { offered: UpstreamFailure[] }
}

/** A wrapped handler that records what reaches it. */
function inner(): ResponseStrategy & { seen: string[] } {
  const seen: string[] = []
  return { streaming: false, seen, start: (s, h) => void seen.push(`start ${s} ${h['retry-after'] ?? ''}`), data: (c) => void seen.push(`data ${c}`), end: () => void seen.push('end') }
}

const BUSY = { 'content-type': 'application/json', 'retry-after': '1' }
const BUSY_BODY = '{"error":{"message":"overloaded"}}'

function hold(takes: boolean, status: number, headers: Record<string, string>, ...chunks: string[]) {
  const x = fakeExchange()
  const a = attempt(takes)
  const h = inner()
  const held = new HoldForRetry(x, a, h)
  held.start(status, headers)
  for (const c of chunks) held.data(Buffer.from(c))
  const beforeEnd = [...h.seen]
  held.end()
  return { x, a, h, beforeEnd }
}

test('a held status is offered to the retry layer after the attempt settled, and the wrapped handler sees nothing when it is taken', () => {
  const { x, a, h, beforeEnd } = hold(true, 503, BUSY, BUSY_BODY.slice(0, 10), BUSY_BODY.slice(10))
  assert.deepStrictEqual([beforeEnd, h.seen, x.calls, a.offered], [[], [], ['settle'], [{ kind: 'status', status: 503, retryAfter: '1', contextLength: false }]])
})

test('a held status nothing takes is replayed into the wrapped handler as if never held', () => {
  const { x, h } = hold(false, 503, BUSY, BUSY_BODY.slice(0, 10), BUSY_BODY.slice(10))
  assert.deepStrictEqual([x.calls, h.seen], [['settle', 'reopen'], ['start 503 1', `data ${BUSY_BODY}`, 'end']])
})

test("the upstream's context-length error is named as such to the retry layer", () => {
  const body = JSON.stringify({ error: { message: "This model's maximum context length is 8192 tokens", type: 'invalid_request_error', code: 'context_length_exceeded' } })
  const { a } = hold(true, 400, { 'content-type': 'application/json' }, body)
  assert.deepStrictEqual(a.offered, [{ kind: 'status', status: 400, contextLength: true }])
})

test('an answer past the error-body limit is refused as too large instead of buffered', () => {
  const x = fakeExchange()
  const held = new HoldForRetry(x, attempt(true), inner())
  held.start(503, BUSY)
  held.data(Buffer.alloc(ERROR_BODY_LIMIT))
  held.data(Buffer.from('x'))
  assert.deepStrictEqual(x.calls, ['abort SY_TOO_LARGE'])
})
