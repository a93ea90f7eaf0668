/**
 * Reading one member's value out of JSON bytes without decoding the rest: the usage tap and the
 * answer facts decode only the members the syntax check (json-syntax.ts) or the event scan
 * (sse/event-scan.ts) spotted. Except for objectEnd, the bytes must already be checked JSON.
 */

/** The decoded value of a member spotted at `at` (undefined for -1: there is none). */
export function memberOf(b: Buffer, at: number, end: number): unknown {
  if (at < 0) return undefined
  const c = b[at]
  return JSON.parse(b.toString('utf8', at, c === 0x7b || c === 0x5b ? containerEnd(b, at, end) : valueEnd(b, at, end)))
}

/** Is the JSON value at `at` an empty array? (OpenAI's usage-only chunk has `"choices":[]`.) */
export function emptyArrayAt(b: Buffer, at: number, to: number): boolean {
  if (at < 0 || b[at] !== 0x5b) return false
  let i = at + 1
  while (i < to && (b[i] === 0x20 || b[i] === 0x09)) i++
  return b[i] === 0x5d
}

/** Index just after the `}` that closes the object opening at `open` (strings skipped), or -1; the bytes need not be checked. */
export function objectEnd(b: Buffer, open: number, to: number): number {
  let depth = 0
  let inString = false
  for (let i = open; i < to; i++) {
    const c = b[i]
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b) depth++
    else if (c === 0x7d && --depth === 0) return i + 1
  }
  return -1
}

/** Index just after the object or array opening at `open`, in JSON already checked (strings skipped). */
function containerEnd(b: Buffer, open: number, to: number): number {
  let depth = 0
  for (let i = open; i < to; i++) {
    const c = b[i]
    if (c === 0x22) {
      for (i++; b[i] !== 0x22; i++) if (b[i] === 0x5c) i++
    } else if (c === 0x7b || c === 0x5b) depth++
    else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i + 1
  }
  return to
}

/** Index just after a string, number or literal at `at`, in JSON already checked. */
function valueEnd(b: Buffer, at: number, to: number): number {
  if (b[at] === 0x22) {
    let i = at + 1
    for (; b[i] !== 0x22; i++) if (b[i] === 0x5c) i++
    return i + 1
  }
  let i = at
  while (i < to && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d && b[i] !== 0x20 && b[i] !== 0x09) i++
  return i
}
