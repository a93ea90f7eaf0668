import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  EventStreamError, createEventStreamDecoder, encodeEventStreamMessage, headerString,
} from '../../../../src/runtime/providers/translate/aws-event-stream.js'
import { fixtureBytes, fixtureJson } from '../../../support/fixtures.js'

// Known-good frames (no headers; one content-type header) for the payload {"foo": "bar"}.
const NO_HEADERS = Buffer.from([0, 0, 0, 30, 0, 0, 0, 0, 186, 242, 246, 138, 123, 34, 102, 111, 111, 34, 58, 32, 34, 98, 97, 114, 34, 125, 174, 114, 88, 228])
const ONE_HEADER = Buffer.from([
  0, 0, 0, 62, 0, 0, 0, 32, 64, 93, 249, 70, 12, 99, 111, 110, 116, 101, 110, 116, 45, 116, 121, 112, 101, 7, 0, 16, 97, 112, 112,
  108, 105, 99, 97, 116, 105, 111, 110, 47, 106, 115, 111, 110, 123, 34, 102, 111, 111, 34, 58, 32, 34, 98, 97, 114, 34, 125, 111,
  162, 191, 59,
])

test('the encoder reproduces a known frame without headers byte for byte', () => {
  assert.deepStrictEqual(encodeEventStreamMessage({}, '{"foo": "bar"}'), NO_HEADERS)
})

test('the encoder reproduces a known frame with a string header byte for byte', () => {
  assert.deepStrictEqual(encodeEventStreamMessage({ 'content-type': 'application/json' }, '{"foo": "bar"}'), ONE_HEADER)
})

test('the decoder reads headers and payload of a known frame', () => {
  const [msg] = createEventStreamDecoder().push(ONE_HEADER)
  assert.equal(headerString(msg!, 'content-type'), 'application/json')
  assert.equal(msg!.payload.toString(), '{"foo": "bar"}')
})

test('frames split across reads at every byte are reassembled', () => {
  const both = Buffer.concat([NO_HEADERS, ONE_HEADER])
  const d = createEventStreamDecoder()
  const out = []
  for (let i = 0; i < both.length; i++) out.push(...d.push(both.subarray(i, i + 1)))
  d.end()
  assert.equal(out.length, 2)
  assert.equal(out[1]!.payload.toString(), '{"foo": "bar"}')
})

test('a corrupted payload fails the message CRC check', () => {
  const bad = Buffer.from(ONE_HEADER)
  bad[50] ^= 0xff
  assert.throws(() => createEventStreamDecoder().push(bad), (e: unknown) => e instanceof EventStreamError && e.code === 'SY_EVS_MESSAGE_CRC')
})

test('a corrupted length fails the prelude CRC check before any buffering', () => {
  const bad = Buffer.from(NO_HEADERS)
  bad[3] = 200
  assert.throws(() => createEventStreamDecoder().push(bad), (e: unknown) => e instanceof EventStreamError && e.code === 'SY_EVS_PRELUDE_CRC')
})

test('a stream that ends inside a frame is reported as truncated', () => {
  const d = createEventStreamDecoder()
  d.push(ONE_HEADER.subarray(0, 20))
  assert.throws(() => d.end(), (e: unknown) => e instanceof EventStreamError && e.code === 'SY_EVS_TRUNCATED')
})

test('every header value type round-trips through encoder and decoder', () => {
  const when = new Date(1700000000123)
  const frame = encodeEventStreamMessage(
    {
      t: { type: 'boolean', value: true }, f: { type: 'boolean', value: false }, b: { type: 'byte', value: -3 },
      s: { type: 'short', value: 1234 }, i: { type: 'integer', value: -70000 }, l: { type: 'long', value: 2n ** 40n },
      bin: { type: 'binary', value: Buffer.from([1, 2, 3]) }, str: 'ünïcödé', ts: { type: 'timestamp', value: when },
      u: { type: 'uuid', value: '01234567-89ab-cdef-0123-456789abcdef' },
    },
    '',
  )
  const [m] = createEventStreamDecoder().push(frame)
  assert.deepStrictEqual(m!.headers, {
    t: { type: 'boolean', value: true }, f: { type: 'boolean', value: false }, b: { type: 'byte', value: -3 },
    s: { type: 'short', value: 1234 }, i: { type: 'integer', value: -70000 }, l: { type: 'long', value: 2n ** 40n },
    bin: { type: 'binary', value: Buffer.from([1, 2, 3]) }, str: { type: 'string', value: 'ünïcödé' },
    ts: { type: 'timestamp', value: when }, u: { type: 'uuid', value: '01234567-89ab-cdef-0123-456789abcdef' },
  })
})

test('the ConverseStream fixture decodes into the documented event sequence', () => {
  const events = fixtureJson<{ eventType: string; payload: unknown }[]>('bedrock/stream-tool-use.events.json')
  const msgs = createEventStreamDecoder().push(fixtureBytes('bedrock/stream-tool-use.bin.b64'))
  assert.deepStrictEqual(
    msgs.map((m) => ({ eventType: headerString(m, ':event-type'), payload: JSON.parse(m.payload.toString()) })),
    events,
  )
  assert.ok(msgs.every((m) => headerString(m, ':message-type') === 'event'))
})
