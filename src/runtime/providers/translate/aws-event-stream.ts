/**
 * The AWS event-stream binary framing (`application/vnd.amazon.eventstream`), used by Bedrock
 * ConverseStream. Every message is:
 *
 *   total length u32 BE | headers length u32 BE | prelude CRC32 u32 BE
 *   headers (name len u8, name, value type u8, value) | payload | message CRC32 u32 BE
 *
 * Messages are decoded and encoded by @smithy/core's EventStreamCodec (what the AWS SDK uses);
 * this module only cuts the byte stream into whole messages, refuses corrupt lengths as soon as
 * the 12-byte prelude is in, and maps the codec's shapes to plain ones (bigint, Buffer).
 */
import { createRequire } from 'node:module'
import { crc32 } from 'node:zlib'
import type * as EventStreams from '@smithy/core/event-streams'
import type { MessageHeaders, MessageHeaderValue } from '@smithy/core/event-streams'
import type * as Serde from '@smithy/core/serde'
import type { EventStreamFailureCode } from '../../errors.js'

export type EventStreamHeaderValue =
  | { type: 'boolean'; value: boolean }
  | { type: 'byte'; value: number }
  | { type: 'short'; value: number }
  | { type: 'integer'; value: number }
  | { type: 'long'; value: bigint }
  | { type: 'binary'; value: Uint8Array }
  | { type: 'string'; value: string }
  | { type: 'timestamp'; value: Date }
  | { type: 'uuid'; value: string }

export interface EventStreamMessage {
  headers: Record<string, EventStreamHeaderValue>
  payload: Buffer
}

/** Headers given to the encoder: plain strings are the common case (`:event-type` and friends). */
export type EventStreamHeaderInput = string | EventStreamHeaderValue

/** A frame the decoder refuses; its code is catalogued in errors.ts (EventStreamFailures). */
export class EventStreamError extends Error {
  readonly code: EventStreamFailureCode
  constructor(code: EventStreamFailureCode, message: string) {
    super(message)
    this.name = 'EventStreamError'
    this.code = code
  }
}

const PRELUDE = 12
const OVERHEAD = 16
/** Bedrock frames are small; anything above this is a corrupt length, not a real message. */
const MAX_MESSAGE = 16 * 1024 * 1024
const EMPTY = Buffer.alloc(0)
const require = createRequire(import.meta.url)
let smithy: { codec: EventStreams.EventStreamCodec; Int64: typeof EventStreams.Int64 } | undefined
/**
 * @smithy's codec, loaded with the first message, so a gateway without Bedrock clusters never holds
 * its code. decode() and encode() keep no state (only feed() buffers), so one codec serves every stream.
 */
function eventStreams() {
  if (smithy) return smithy
  const { EventStreamCodec, Int64 } = require('@smithy/core/event-streams') as typeof EventStreams
  const { fromUtf8, toUtf8 } = require('@smithy/core/serde') as typeof Serde
  return (smithy = { codec: new EventStreamCodec(toUtf8, fromUtf8), Int64 })
}

/** Incremental decoder: feed chunks as they arrive, get whole verified messages back. */
export class EventStreamDecoder {
  private buf: Buffer = EMPTY

  push(chunk: Uint8Array): EventStreamMessage[] {
    const incoming = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const buf = this.buf.length === 0 ? incoming : Buffer.concat([this.buf, incoming])
    const out: EventStreamMessage[] = []
    let off = 0
    while (buf.length - off >= PRELUDE) {
      // The codec checks the prelude only once the whole message is in; a corrupt length would
      // make us buffer up to it first, so the prelude is checked here as soon as it arrives.
      const total = buf.readUInt32BE(off)
      const headersLen = buf.readUInt32BE(off + 4)
      if (crc32(buf.subarray(off, off + 8)) !== buf.readUInt32BE(off + 8)) {
        throw new EventStreamError('SY_EVS_PRELUDE_CRC', `event-stream prelude CRC mismatch at byte ${off}`)
      }
      if (total < OVERHEAD || total > MAX_MESSAGE || headersLen > total - OVERHEAD) {
        throw new EventStreamError('SY_EVS_LENGTH', `event-stream lengths invalid: total ${total}, headers ${headersLen}`)
      }
      if (buf.length - off < total) break
      out.push(decodeMessage(buf.subarray(off, off + total), off))
      off += total
    }
    // Copy the tail: `incoming` belongs to the caller and may be reused after push returns.
    this.buf = off === buf.length ? EMPTY : Buffer.from(buf.subarray(off))
    return out
  }

  /** Throws when the stream ended in the middle of a message. */
  end(): void {
    if (this.buf.length !== 0) {
      const n = this.buf.length
      this.buf = EMPTY
      throw new EventStreamError('SY_EVS_TRUNCATED', `event-stream ended inside a message (${n} bytes pending)`)
    }
  }
}

export function createEventStreamDecoder(): EventStreamDecoder {
  return new EventStreamDecoder()
}

/** One whole frame (prelude already checked) → message; `at` is its offset, for the error. */
function decodeMessage(frame: Buffer, at: number): EventStreamMessage {
  // The codec hands out views on the frame's ArrayBuffer (and reads header bytes through it), so
  // give it a copy of its own: results never pin the receive buffer or reach into Node's shared
  // Buffer pool, even when a header length is wrong.
  const own = new Uint8Array(frame)
  let decoded
  try {
    decoded = eventStreams().codec.decode(own)
  } catch (e) {
    // The codec checks the message CRC before it parses headers; tell the two apart off the hot path.
    if (crc32(frame.subarray(0, frame.length - 4)) !== frame.readUInt32BE(frame.length - 4)) {
      throw new EventStreamError('SY_EVS_MESSAGE_CRC', `event-stream message CRC mismatch at byte ${at}`)
    }
    throw new EventStreamError('SY_EVS_HEADER', `event-stream headers unreadable at byte ${at}: ${(e as Error).message}`)
  }
  const headers: Record<string, EventStreamHeaderValue> = {}
  for (const name of Object.keys(decoded.headers)) headers[name] = fromCodec(decoded.headers[name]!)
  const body = decoded.body
  return { headers, payload: Buffer.from(body.buffer, body.byteOffset, body.byteLength) }
}

function fromCodec(h: MessageHeaderValue): EventStreamHeaderValue {
  switch (h.type) {
    case 'long': return { type: 'long', value: Buffer.from(h.value.bytes.buffer, h.value.bytes.byteOffset, 8).readBigInt64BE(0) }
    case 'binary': return { type: 'binary', value: Buffer.from(h.value.buffer, h.value.byteOffset, h.value.byteLength) }
    default: return h
  }
}

function toCodec(input: EventStreamHeaderInput): MessageHeaderValue {
  if (typeof input === 'string') return { type: 'string', value: input }
  if (input.type !== 'long') return input
  const bytes = Buffer.alloc(8)
  bytes.writeBigInt64BE(input.value)
  return { type: 'long', value: new (eventStreams().Int64)(bytes) }
}

/** Encodes one message. Header order follows the object's key order. */
export function encodeEventStreamMessage(
  headers: Record<string, EventStreamHeaderInput>,
  payload: Uint8Array | string,
): Buffer {
  const h: MessageHeaders = {}
  for (const name of Object.keys(headers)) h[name] = toCodec(headers[name]!)
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  const out = eventStreams().codec.encode({ headers: h, body })
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength)
}

/** Reads a string header, or undefined. */
export function headerString(msg: EventStreamMessage, name: string): string | undefined {
  const h = msg.headers[name]
  return h && h.type === 'string' ? h.value : undefined
}
