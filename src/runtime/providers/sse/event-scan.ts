/**
 * One pass over the usual shape of a provider's SSE event — an optional `event:` line, one `data:`
 * line holding one JSON value, the blank line — that finds where the event ends, checks its JSON
 * and notes the members its caller asked for, all at once. Any other shape (comments, several data
 * lines, `id:`/`retry:` fields, CR-only line ends, data that is not JSON, an event not whole yet)
 * is left to the caller, who decodes it with the SSE parser: rare, and always correct.
 */
import { KeySpotter, scanJsonLine } from '../json-syntax.js'

/** What scanEvent found; one instance is reused for every event of a stream. */
export class ScannedEvent {
  /** Offset just after the event's blank line. */
  end = 0
  /** The `event:` field's value [nameStart, nameEnd); nameStart is -1 without one (or an empty one). */
  nameStart = -1
  nameEnd = -1
  /** The data is OpenAI's `[DONE]` (only when scanEvent was allowed to accept it). */
  done = false
  /** The JSON value [dataStart, dataEnd), for a caller that must decode it after all. */
  dataStart = 0
  dataEnd = 0

  constructor(readonly keys: KeySpotter) {}
}

const LF = 0x0a
const CR = 0x0d

/**
 * Reads the event at `start` if it has the usual shape, filling `ev`; false when the caller must
 * decode it the slow way. `allowDone`: the data may be `[DONE]` (OpenAI's end marker, not JSON).
 */
export function scanEvent(b: Buffer, start: number, len: number, ev: ScannedEvent, allowDone: boolean): boolean {
  // hot path -- change with care: every event of a pass-through stream goes through here.
  let line = start
  ev.nameStart = -1
  if (b[line] === 0x65 /* e */) {
    if (!(b[line + 1] === 0x76 && b[line + 2] === 0x65 && b[line + 3] === 0x6e && b[line + 4] === 0x74 && b[line + 5] === 0x3a)) return false
    let from = line + 6
    if (b[from] === 0x20) from++
    let i = from
    while (i < len && b[i] !== LF && b[i] !== CR) i++
    let to = i
    if (b[i] === CR) i++ // CRLF; a CR alone ends the line too, and is left to the parser
    if (b[i] !== LF) return false
    if (to > from) {
      ev.nameStart = from
      ev.nameEnd = to
    }
    line = i + 1
  }
  if (!(b[line] === 0x64 && b[line + 1] === 0x61 && b[line + 2] === 0x74 && b[line + 3] === 0x61 && b[line + 4] === 0x3a)) return false
  const f = b[line + 5] === 0x20 ? line + 6 : line + 5
  let v: number
  ev.done = false
  if (allowDone && b[f] === 0x5b && b[f + 1] === 0x44 && isDone(b, f)) {
    v = f + 6
    ev.done = true
  } else {
    ev.keys.reset()
    v = scanJsonLine(b, f, len, ev.keys)
    if (v < 0) return false // not JSON, too deep for the scan, or not whole yet: decoded by the caller
  }
  ev.dataStart = f
  ev.dataEnd = v
  if (b[v] === CR) v++
  if (b[v] !== LF || b[v + 1] !== LF) return false
  ev.end = v + 2
  return true
}

const DONE = Buffer.from('[DONE]')
const isDone = (b: Buffer, at: number) => b.length >= at + 6 && bytesAt(b, at, DONE)

/** Are the bytes at `at` these? */
export function bytesAt(b: Uint8Array, at: number, s: Uint8Array): boolean {
  if (at + s.length > b.length) return false
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s[i]) return false
  return true
}
