/**
 * The WebAssembly binary format at the level the instrumenter needs: a module as its list of
 * sections (id + raw bytes), LEB128 read/write, and the section order new sections go into.
 * Nothing here interprets a section it does not have to.
 */

export interface Section {
  readonly id: number
  readonly bytes: Uint8Array
}

export class WasmFormatError extends Error {}

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]

/** Where each known section id sits in the order the spec requires (custom sections, id 0, go anywhere). */
const ORDER: Readonly<Record<number, number>> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 }

export const SectionId = { type: 1, import: 2, function: 3, table: 4, memory: 5, global: 6, export: 7, start: 8, element: 9, code: 10, data: 11, dataCount: 12, tag: 13 } as const

export function readSections(bin: Uint8Array): Section[] {
  for (let i = 0; i < MAGIC.length; i++) if (bin[i] !== MAGIC[i]) throw new WasmFormatError('not a WebAssembly 1.0 binary (bad magic or version)')
  const r = new Reader(bin, MAGIC.length)
  const out: Section[] = []
  while (!r.done) {
    const id = r.byte()
    const size = r.u32()
    out.push({ id, bytes: r.bytes(size) })
  }
  return out
}

export function writeSections(sections: readonly Section[]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from(MAGIC)]
  for (const s of sections) parts.push(Uint8Array.of(s.id), u32(s.bytes.length), s.bytes)
  return concat(parts)
}

/** Replaces the section `id`, or inserts it where the spec's order puts it. */
export function putSection(sections: Section[], id: number, bytes: Uint8Array): void {
  const at = sections.findIndex((s) => s.id === id)
  if (at >= 0) {
    sections[at] = { id, bytes }
    return
  }
  const rank = ORDER[id]
  let i = sections.findIndex((s) => s.id !== 0 && ORDER[s.id] > rank)
  if (i < 0) i = sections.length
  sections.splice(i, 0, { id, bytes })
}

export class Reader {
  constructor(readonly buf: Uint8Array, public pos = 0, readonly end = buf.length) {}

  get done(): boolean {
    return this.pos >= this.end
  }

  byte(): number {
    if (this.pos >= this.end) throw new WasmFormatError('unexpected end of module')
    return this.buf[this.pos++]
  }

  u32(): number {
    let result = 0
    let shift = 0
    for (;;) {
      const b = this.byte()
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return result
      shift += 7
      if (shift > 35) throw new WasmFormatError('malformed LEB128 integer')
    }
  }

  /** Skips any LEB128 integer (signed or not, up to 64 bits). */
  skipLeb(): void {
    for (let n = 0; n < 10; n++) if ((this.byte() & 0x80) === 0) return
    throw new WasmFormatError('malformed LEB128 integer')
  }

  skip(n: number): void {
    if (this.pos + n > this.end) throw new WasmFormatError('unexpected end of module')
    this.pos += n
  }

  bytes(n: number): Uint8Array {
    const start = this.pos
    this.skip(n)
    return this.buf.subarray(start, this.pos)
  }

  name(): string {
    return new TextDecoder().decode(this.bytes(this.u32()))
  }
}

export function u32(n: number): Uint8Array {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n = Math.floor(n / 128)
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return Uint8Array.from(out)
}

export function nameBytes(s: string): Uint8Array {
  const b = new TextEncoder().encode(s)
  return concat([u32(b.length), b])
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}
