/**
 * The pass-through strategies (same protocol on both sides) against a recording exchange: which
 * strategy a response gets, what a held JSON answer must be to pass, how an SSE stream's opening,
 * end marker and usage are handled, and that raw bodies stream as they come.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { PassJson, PassRaw, PassSse, passThrough } from '../../../src/runtime/upstream/pass-through.js'
import { fakeExchange } from '../../support/fake-exchange.js'
import { openAICompletion, sseData } from '../../support/scripted-upstream.js'

const JSON_HEADERS = { 'content-type': 'application/json' }
const SSE_HEADERS = { 'content-type': 'text/event-stream' }
const chunk = (delta: object, finish: string | null = null) => sseData({ id: 'c', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
const ROLE = chunk({ role: 'assistant', content: '' })
const HELLO = chunk({ content: 'Hello' })
const STOP = chunk({}, 'stop')
const DONE = 'data: [DONE]\n\n'

/** Runs one response through `strategy` (start, each chunk, end). */
function answer(s: { start(status: number, h: Record<string, string>): void; data(c: Buffer): void; end(): void }, status: number, headers: Record<string, string>, ...chunks: string[]): void {
  s.start(status, headers)
  for (const c of chunks) s.data(Buffer.from(c))
  s.end()
}

describe('picking the strategy', () => {
  const cases: { name: string; type: string; headers?: Record<string, string>; op?: 'chat' | 'other'; is: Function }[] = [
    { name: 'an SSE stream is tapped and checked', type: 'text/event-stream', is: PassSse },
    { name: 'a JSON answer is held and vouched for', type: 'application/json', is: PassJson },
    { name: 'a known API answer is checked whatever its type', type: 'text/html', is: PassJson },
    { name: 'another body with a small known length is held for one write', type: 'application/octet-stream', op: 'other', headers: { 'content-length': '10' }, is: PassJson },
    { name: 'another body of unknown length streams as it comes', type: 'application/octet-stream', op: 'other', is: PassRaw },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const x = fakeExchange({ op: c.op ?? 'chat' })
      assert.ok(passThrough(x, c.type, { 'content-type': c.type, ...c.headers }) instanceof (c.is as any))
    })
  }

  test('a continuation never holds a JSON answer (the client has an open stream)', () => {
    const x = fakeExchange({}, { attempt: { continuation: {} } as never })
    assert.ok(passThrough(x, 'application/json', JSON_HEADERS) instanceof PassRaw)
  })
})

describe('a held JSON answer', () => {
  test('a complete success object goes out in one write after its head, with its usage read', () => {
    const x = fakeExchange()
    const body = openAICompletion('hi')
    answer(passThrough(x, 'application/json', JSON_HEADERS), 200, JSON_HEADERS, body.slice(0, 20), body.slice(20))
    assert.deepStrictEqual([x.calls, x.ctx.usage], [['succeeded', 'head 200', `finish ${body}`], { inputTokens: 1, outputTokens: 1 }])
  })

  test('a truncated body is refused before anything is sent', () => {
    const x = fakeExchange()
    answer(passThrough(x, 'application/json', JSON_HEADERS), 200, JSON_HEADERS, openAICompletion().slice(0, 30))
    assert.deepStrictEqual(x.calls, ['refuse SY_MALFORMED'])
  })

  test("a complete document without the operation's success key is refused", () => {
    const x = fakeExchange()
    answer(passThrough(x, 'application/json', JSON_HEADERS), 200, JSON_HEADERS, '{"error":{"message":"nope"}}')
    assert.deepStrictEqual(x.calls, ['refuse SY_MALFORMED'])
  })

  test('a body that is not JSON on a path the gateway does not know passes unchecked', () => {
    const x = fakeExchange({ op: 'other' })
    answer(passThrough(x, 'text/plain', { 'content-length': '5' }), 200, { 'content-length': '5' }, 'plain')
    assert.deepStrictEqual(x.calls, ['succeeded', 'head 200', 'finish plain'])
  })

  test('a body without a length that outgrows the buffer limit is sent as it comes, unchecked', () => {
    const x = fakeExchange()
    const s = passThrough(x, 'application/json', JSON_HEADERS)
    s.start(200, JSON_HEADERS)
    const mb = Buffer.alloc(1024 * 1024, 0x20)
    for (let i = 0; i < 9; i++) s.data(mb)
    s.data(Buffer.from('tail'))
    s.end()
    assert.deepStrictEqual([x.calls[0], x.calls.length, x.calls.at(-2)?.slice(-4), x.calls.at(-1)], ['head 200', 1 + 9 + 1 + 1, 'tail', 'finish '])
  })
})

describe('an SSE stream', () => {
  test('the opening alone is held until real output follows, then both go out', () => {
    const x = fakeExchange()
    const s = passThrough(x, 'text/event-stream', SSE_HEADERS)
    s.start(200, SSE_HEADERS)
    s.data(Buffer.from(ROLE))
    const afterOpening = [...x.calls]
    s.data(Buffer.from(HELLO))
    assert.deepStrictEqual([afterOpening, x.calls.slice(1)], [['head 200'], [`write ${ROLE}`, `write ${HELLO}`]])
  })

  test('a stream that ends with its end marker succeeds and ends with what the tap still holds', () => {
    const x = fakeExchange()
    answer(passThrough(x, 'text/event-stream', SSE_HEADERS), 200, SSE_HEADERS, ROLE + HELLO, STOP + DONE)
    assert.deepStrictEqual(x.calls, ['head 200', `write ${ROLE}${HELLO}`, `write ${STOP}${DONE}`, 'succeeded', 'finish '])
  })

  test('a stream that closes before its end marker, unfinished, is refused as truncated', () => {
    const x = fakeExchange()
    answer(passThrough(x, 'text/event-stream', SSE_HEADERS), 200, SSE_HEADERS, ROLE + HELLO)
    assert.deepStrictEqual(x.calls.at(-1), 'refuse SY_TRUNCATED')
  })

  test('a finished OpenAI stream that closes without [DONE] gets it from the gateway', () => {
    const x = fakeExchange()
    answer(passThrough(x, 'text/event-stream', SSE_HEADERS), 200, SSE_HEADERS, ROLE + HELLO + STOP)
    assert.deepStrictEqual(x.calls.slice(-2), ['succeeded', `finish ${DONE}`])
  })

  test('an event whose data is not JSON aborts the upstream as malformed', () => {
    const x = fakeExchange()
    const s = passThrough(x, 'text/event-stream', SSE_HEADERS)
    s.start(200, SSE_HEADERS)
    s.data(Buffer.from(HELLO + 'data: {not json\n\n'))
    assert.deepStrictEqual(x.calls.at(-1), 'abort SY_MALFORMED')
  })
})

test('a raw body streams chunk by chunk and ends with nothing more', () => {
  const x = fakeExchange({ op: 'other' })
  answer(new PassRaw(x), 200, {}, 'a', 'b')
  assert.deepStrictEqual(x.calls, ['head 200', 'write a', 'write b', 'finish '])
})
