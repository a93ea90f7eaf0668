import { bytesAt } from '../sse/event-scan.js'

/** Event types (the `event:` field, or the data's `type`) a protocol's completion and opening rules name. */
export class EventNames {
  private readonly bytes: Buffer[]
  constructor(readonly strings: readonly string[]) {
    this.bytes = strings.map((s) => Buffer.from(s))
  }

  /** Index of the name that is exactly the bytes [from, to), or -1 (also for from = -1: no name). */
  find(b: Buffer, from: number, to: number): number {
    if (from < 0) return -1
    for (let k = 0; k < this.bytes.length; k++) if (this.bytes[k].length === to - from && bytesAt(b, from, this.bytes[k])) return k
    return -1
  }

  /** Index of the name the JSON value at `at` is (as a string), or -1; escapes are decoded, rarely. */
  findString(b: Buffer, at: number, end: number): number {
    if (at < 0 || b[at] !== 0x22) return -1
    let i = at + 1
    let escaped = false
    while (i < end && b[i] !== 0x22) {
      if (b[i] === 0x5c) {
        escaped = true
        i++
      }
      i++
    }
    return escaped ? this.strings.indexOf(JSON.parse(b.toString('utf8', at, i + 1))) : this.find(b, at + 1, i)
  }
}
