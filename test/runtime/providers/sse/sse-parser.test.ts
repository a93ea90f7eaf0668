import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SseParser, createSseParser, type SseEvent } from '../../../../src/runtime/providers/sse/sse-parser.js'
import { formatSseEvent, formatSseData, formatSseNamed } from '../../../../src/runtime/providers/sse/sse-serializer.js'
import { sseEvents } from '../../../support/sse-streams.js'
import { fixture } from '../../../support/fixtures.js'

function feedAll(chunks: (string | Uint8Array)[]): SseEvent[] {
  const p = new SseParser()
  const out: SseEvent[] = []
  for (const c of chunks) out.push(...p.push(typeof c === 'string' ? Buffer.from(c) : c))
  out.push(...p.end())
  return out
}

test('a single event with event, data and id fields is parsed', () => {
  assert.deepStrictEqual(feedAll(['event: ping\ndata: {"a":1}\nid: 7\n\n']), [{ event: 'ping', data: '{"a":1}', id: '7' }])
})

test('multi-line data is joined with newlines', () => {
  assert.deepStrictEqual(feedAll(['data: one\ndata: two\ndata:three\n\n']), [{ data: 'one\ntwo\nthree' }])
})

test('CRLF, CR and LF line endings are all accepted', () => {
  assert.deepStrictEqual(feedAll(['data: a\r\n\r\ndata: b\r\rdata: c\n\n']), [{ data: 'a' }, { data: 'b' }, { data: 'c' }])
})

test('a CRLF split between two chunks counts as one line break', () => {
  assert.deepStrictEqual(feedAll(['data: a\r', '\n\r', '\ndata: b\r\n\r\n']), [{ data: 'a' }, { data: 'b' }])
})

test('comments are skipped and can be observed', () => {
  const comments: string[] = []
  const p = createSseParser({ onComment: (c) => comments.push(c) })
  const evs = [...p.push(': keep-alive\n\ndata: x\n\n')]
  assert.deepStrictEqual(evs, [{ data: 'x' }])
  assert.deepStrictEqual(comments, [' keep-alive'])
})

test('an event split across reads at every byte is reassembled', () => {
  const text = 'event: message_start\ndata: {"type":"message_start"}\n\nevent: ping\ndata: {"type":"ping"}\n\n'
  const bytes = Buffer.from(text)
  const chunks: Uint8Array[] = []
  for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1))
  assert.deepStrictEqual(feedAll(chunks), [
    { event: 'message_start', data: '{"type":"message_start"}' },
    { event: 'ping', data: '{"type":"ping"}' },
  ])
})

test('a multi-byte UTF-8 character split across chunks is decoded intact', () => {
  const bytes = Buffer.from('data: héllo ✓ 🚀\n\n')
  const emoji = bytes.indexOf(0xf0)
  const out = feedAll([bytes.subarray(0, emoji + 1), bytes.subarray(emoji + 1, emoji + 3), bytes.subarray(emoji + 3)])
  assert.deepStrictEqual(out, [{ data: 'héllo ✓ 🚀' }])
})

test('a leading byte-order mark is ignored', () => {
  assert.deepStrictEqual(feedAll([Buffer.from([0xef, 0xbb, 0xbf]), 'data: x\n\n']), [{ data: 'x' }])
})

test('an event without a terminating blank line is discarded at end of stream', () => {
  assert.deepStrictEqual(feedAll(['data: complete\n\ndata: partial\n']), [{ data: 'complete' }])
})

test('dispatchIncompleteOnEnd keeps a final event that lacks the blank line', () => {
  const p = createSseParser({ dispatchIncompleteOnEnd: true })
  const evs = [...p.push('data: a\n\ndata: tail'), ...p.end()]
  assert.deepStrictEqual(evs, [{ data: 'a' }, { data: 'tail' }])
})

test('a field without a colon and an event with no data are handled per the spec', () => {
  assert.deepStrictEqual(feedAll(['event: lonely\n\ndata\n\n']), [{ data: '' }])
})

test('the id persists across events and retry is reported as a number', () => {
  assert.deepStrictEqual(feedAll(['id: 1\ndata: a\n\nretry: 3000\ndata: b\n\n']), [
    { data: 'a', id: '1' },
    { data: 'b', id: '1', retry: 3000 },
  ])
})

test('only one leading space after the colon is removed', () => {
  assert.deepStrictEqual(feedAll(['data:  two spaces\n\n']), [{ data: ' two spaces' }])
})

test('the Gemini CRLF fixture parses into three JSON events when read 7 bytes at a time', () => {
  const evs = sseEvents(fixture('gemini/stream-text.sse'), 7)
  assert.equal(evs.length, 3)
  assert.equal(JSON.parse(evs[1]!.data).candidates[0].content.parts[0].text, ' quick brown fox jumps over the lazy dog — ünïcödé ✓')
})

test('the serializer splits multi-line data and round-trips through the parser', () => {
  const text = formatSseEvent({ event: 'x', id: '9', data: 'line1\nline2\r\nline3' })
  assert.equal(text, 'event: x\nid: 9\ndata: line1\ndata: line2\ndata: line3\n\n')
  assert.deepStrictEqual(sseEvents(text), [{ event: 'x', id: '9', data: 'line1\nline2\nline3' }])
})

test('the JSON framing helpers produce OpenAI and Anthropic shapes', () => {
  assert.equal(formatSseData({ a: 1 }), 'data: {"a":1}\n\n')
  assert.equal(formatSseNamed('ping', { type: 'ping' }), 'event: ping\ndata: {"type":"ping"}\n\n')
})
