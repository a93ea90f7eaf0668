/**
 * The AWS event-stream binary framing (`application/vnd.amazon.eventstream`), used by Bedrock
 * ConverseStream. Every message is:
 *
 *   total length u32 BE | headers length u32 BE | prelude CRC32 u32 BE
 *   headers (name len u8, name, value type u8, value) | payload | message CRC32 u32 BE
 *
 * Both CRCs are the IEEE/gzip CRC32; the message CRC covers every byte before it. The overhead
 * is 16 bytes.
 */
import { crc32 } from 'node:zlib'

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

export class EventStreamError extends Error {
  readonly code: 'SY_EVS_PRELUDE_CRC' | 'SY_EVS_MESSAGE_CRC' | 'SY_EVS_LENGTH' | 'SY_EVS_HEADER' | 'SY_EVS_TRUNCATED'
  constructor(code: EventStreamError['code'], message: string) {
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

/** Incremental decoder: feed chunks as they arrive, get whole verified messages back. */
export class EventStreamDecoder {
  private buf: Buffer = EMPTY

  push(chunk: Uint8Array): EventStreamMessage[] {
    const incoming = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const buf = this.buf.length === 0 ? incoming : Buffer.concat([this.buf, incoming])
    const out: EventStreamMessage[] = []
    let off = 0
    while (buf.length - off >= PRELUDE) {
      const total = buf.readUInt32BE(off)
      const headersLen = buf.readUInt32BE(off + 4)
      const preludeCrc = buf.readUInt32BE(off + 8)
      if (crc32(buf.subarray(off, off + 8)) !== preludeCrc) {
        throw new EventStreamError('SY_EVS_PRELUDE_CRC', `event-stream prelude CRC mismatch at byte ${off}`)
      }
      if (total < OVERHEAD || total > MAX_MESSAGE || headersLen > total - OVERHEAD) {
        throw new EventStreamError('SY_EVS_LENGTH', `event-stream lengths invalid: total ${total}, headers ${headersLen}`)
      }
      if (buf.length - off < total) break
      const msgCrc = buf.readUInt32BE(off + total - 4)
      if (crc32(buf.subarray(off, off + total - 4)) !== msgCrc) {
        throw new EventStreamError('SY_EVS_MESSAGE_CRC', `event-stream message CRC mismatch at byte ${off}`)
      }
      const headers = decodeHeaders(buf, off + PRELUDE, off + PRELUDE + headersLen)
      // Copy the payload so callers never pin the (possibly large) receive buffer.
      const payload = Buffer.from(buf.subarray(off + PRELUDE + headersLen, off + total - 4))
      out.push({ headers, payload })
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

function decodeHeaders(buf: Buffer, start: number, end: number): Record<string, EventStreamHeaderValue> {
  const headers: Record<string, EventStreamHeaderValue> = {}
  let p = start
  const need = (n: number) => {
    if (p + n > end) throw new EventStreamError('SY_EVS_HEADER', 'event-stream header runs past the headers section')
  }
  while (p < end) {
    need(1)
    const nameLen = buf[p++]!
    need(nameLen + 1)
    const name = buf.toString('utf8', p, p + nameLen)
    p += nameLen
    const type = buf[p++]!
    let value: EventStreamHeaderValue
    switch (type) {
      case 0: value = { type: 'boolean', value: true }; break
      case 1: value = { type: 'boolean', value: false }; break
      case 2: need(1); value = { type: 'byte', value: buf.readInt8(p) }; p += 1; break
      case 3: need(2); value = { type: 'short', value: buf.readInt16BE(p) }; p += 2; break
      case 4: need(4); value = { type: 'integer', value: buf.readInt32BE(p) }; p += 4; break
      case 5: need(8); value = { type: 'long', value: buf.readBigInt64BE(p) }; p += 8; break
      case 6:
      case 7: {
        need(2)
        const len = buf.readUInt16BE(p)
        p += 2
        need(len)
        value = type === 6
          ? { type: 'binary', value: Buffer.from(buf.subarray(p, p + len)) }
          : { type: 'string', value: buf.toString('utf8', p, p + len) }
        p += len
        break
      }
      case 8: need(8); value = { type: 'timestamp', value: new Date(Number(buf.readBigInt64BE(p))) }; p += 8; break
      case 9: {
        need(16)
        const h = buf.toString('hex', p, p + 16)
        value = { type: 'uuid', value: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` }
        p += 16
        break
      }
      default:
        throw new EventStreamError('SY_EVS_HEADER', `event-stream header '${name}' has unknown value type ${type}`)
    }
    headers[name] = value
  }
  return headers
}

function encodeHeader(name: string, input: EventStreamHeaderInput): Buffer {
  const h: EventStreamHeaderValue = typeof input === 'string' ? { type: 'string', value: input } : input
  const nameBuf = Buffer.from(name, 'utf8')
  if (nameBuf.length > 255) throw new EventStreamError('SY_EVS_HEADER', `header name too long: ${name}`)
  let body: Buffer
  switch (h.type) {
    case 'boolean': body = Buffer.from([h.value ? 0 : 1]); break
    case 'byte': body = Buffer.alloc(2); body[0] = 2; body.writeInt8(h.value, 1); break
    case 'short': body = Buffer.alloc(3); body[0] = 3; body.writeInt16BE(h.value, 1); break
    case 'integer': body = Buffer.alloc(5); body[0] = 4; body.writeInt32BE(h.value, 1); break
    case 'long': body = Buffer.alloc(9); body[0] = 5; body.writeBigInt64BE(h.value, 1); break
    case 'timestamp': body = Buffer.alloc(9); body[0] = 8; body.writeBigInt64BE(BigInt(h.value.getTime()), 1); break
    case 'uuid': body = Buffer.concat([Buffer.from([9]), Buffer.from(h.value.replace(/-/g, ''), 'hex')]); break
    case 'binary':
    case 'string': {
      const v = h.type === 'string' ? Buffer.from(h.value, 'utf8') : Buffer.from(h.value)
      body = Buffer.alloc(3 + v.length)
      body[0] = h.type === 'string' ? 7 : 6
      body.writeUInt16BE(v.length, 1)
      v.copy(body, 3)
      break
    }
  }
  return Buffer.concat([Buffer.from([nameBuf.length]), nameBuf, body])
}

/** Encodes one message. Header order follows the object's key order. */
export function encodeEventStreamMessage(
  headers: Record<string, EventStreamHeaderInput>,
  payload: Uint8Array | string,
): Buffer {
  const headerBuf = Buffer.concat(Object.entries(headers).map(([k, v]) => encodeHeader(k, v)))
  const payloadBuf = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload)
  const total = OVERHEAD + headerBuf.length + payloadBuf.length
  const out = Buffer.alloc(total)
  out.writeUInt32BE(total, 0)
  out.writeUInt32BE(headerBuf.length, 4)
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8)
  headerBuf.copy(out, PRELUDE)
  payloadBuf.copy(out, PRELUDE + headerBuf.length)
  out.writeUInt32BE(crc32(out.subarray(0, total - 4)), total - 4)
  return out
}

/** Reads a string header, or undefined. */
export function headerString(msg: EventStreamMessage, name: string): string | undefined {
  const h = msg.headers[name]
  return h && h.type === 'string' ? h.value : undefined
}
