/**
 * Fuel and memory limits for a proxy-wasm module. Node's WebAssembly has no fuel, so the module is
 * rewritten once, on the main thread, before any worker sees it:
 * - fuel: a new exported mutable i32 global (FUEL_GLOBAL); at every function entry and every loop
 *   header it is decremented and, below zero, the code traps (`unreachable`). The host sets it
 *   before each callback, so `fuel` bounds each callback's work: a loop that never ends, or a
 *   recursion that never returns, traps instead of holding the worker;
 * - memory: the module's own memory gets `memory_limit` as its maximum (lowered, never raised), so
 *   `memory.grow` past it fails as the module's allocator sees it (most then trap). Every
 *   `memory.grow` becomes a call to an added function that grows and, on failure, sets the
 *   exported OOM_GLOBAL, so the host can tell a trap at the memory limit from any other.
 * Byte-level on purpose: it is synchronous and takes a millisecond, where a toolchain such as
 * binaryen.js loads asynchronously (top-level await, ~1 s) and compileConfig is synchronous.
 * Instructions are copied verbatim; only the check sequences and section sizes are new.
 */
import { FUEL_GLOBAL, OOM_GLOBAL } from '../../shared/proxy-wasm-abi.js'
import { concat, nameBytes, putSection, Reader, readSections, SectionId, u32, WasmFormatError, writeSections, type Section } from './binary.js'

export { WasmFormatError } from './binary.js'

const PAGE = 65536

export interface InstrumentOptions {
  readonly memoryLimitBytes: number
}

export interface Instrumented {
  readonly binary: Uint8Array
  /** The memory's pages at start and its (possibly lowered) maximum. */
  readonly memory: { readonly initial: number; readonly maximum: number }
  /** Fuel checks inserted (function entries + loop headers), for tests and logs. */
  readonly checks: number
}

export function instrument(bin: Uint8Array, opts: InstrumentOptions): Instrumented {
  const sections = readSections(bin)
  const imports = countImports(sections.find((s) => s.id === SectionId.import))
  if (imports.memories > 0) throw new WasmFormatError('the module imports its memory; a proxy-wasm plugin must define (and export) its own')
  const memSection = sections.find((s) => s.id === SectionId.memory)
  if (memSection === undefined) throw new WasmFormatError('the module defines no memory; a proxy-wasm plugin must define and export one')
  const { bytes: memBytes, initial, maximum } = capMemory(memSection.bytes, Math.floor(opts.memoryLimitBytes / PAGE))
  putSection(sections, SectionId.memory, memBytes)

  const globalSection = sections.find((s) => s.id === SectionId.global)
  const definedGlobals = globalSection ? new Reader(globalSection.bytes).u32() : 0
  const fuel = imports.globals + definedGlobals
  const oom = fuel + 1
  const mutableI32 = Uint8Array.of(0x7f, 0x01, 0x41, 0x00, 0x0b)
  putSection(sections, SectionId.global, appendToVec(appendToVec(globalSection?.bytes, mutableI32), mutableI32))
  const exportSection = sections.find((s) => s.id === SectionId.export)
  const exportGlobal = (name: string, index: number) => concat([nameBytes(name), Uint8Array.of(0x03), u32(index)])
  putSection(sections, SectionId.export, appendToVec(appendToVec(exportSection?.bytes, exportGlobal(FUEL_GLOBAL, fuel)), exportGlobal(OOM_GLOBAL, oom)))

  // The grow helper: type (i32) -> i32 appended to the types, the function after every other one.
  const typeSection = sections.find((s) => s.id === SectionId.type)
  const growType = typeSection ? new Reader(typeSection.bytes).u32() : 0
  putSection(sections, SectionId.type, appendToVec(typeSection?.bytes, Uint8Array.of(0x60, 0x01, 0x7f, 0x01, 0x7f)))
  const funcSection = sections.find((s) => s.id === SectionId.function)
  const grow = imports.funcs + (funcSection ? new Reader(funcSection.bytes).u32() : 0)
  putSection(sections, SectionId.function, appendToVec(funcSection?.bytes, u32(growType)))
  const growCall = concat([Uint8Array.of(0x10), u32(grow)])

  const code = sections.find((s) => s.id === SectionId.code)
  let checks = 0
  const check = fuelCheck(fuel)
  const parts: Uint8Array[] = []
  let n = 0
  if (code !== undefined) {
    const r = new Reader(code.bytes)
    n = r.u32()
    for (let i = 0; i < n; i++) {
      const size = r.u32()
      const body = meter(new Reader(code.bytes, r.pos, r.pos + size), check, growCall, i)
      checks += body.checks
      r.skip(size)
      parts.push(u32(body.bytes.length), body.bytes)
    }
  }
  const helper = growHelper(oom)
  parts.push(u32(helper.length), helper)
  putSection(sections, SectionId.code, concat([u32(n + 1), ...parts]))
  return { binary: writeSections(sections), memory: { initial, maximum }, checks }
}

/** `global.set f (global.get f - 1); if (global.get f < 0) unreachable`: stack-neutral, so valid anywhere. */
function fuelCheck(g: number): Uint8Array {
  const idx = u32(g)
  return concat([Uint8Array.of(0x23), idx, Uint8Array.of(0x41, 0x01, 0x6b, 0x24), idx, Uint8Array.of(0x23), idx, Uint8Array.of(0x41, 0x00, 0x48, 0x04, 0x40, 0x00, 0x0b)])
}

/** `(local i32) local.get 0; memory.grow; local.tee 1; -1 == if { oom = 1 }; local.get 1` */
function growHelper(oom: number): Uint8Array {
  const g = u32(oom)
  return concat([Uint8Array.of(0x01, 0x01, 0x7f, 0x20, 0x00, 0x40, 0x00, 0x22, 0x01, 0x41, 0x7f, 0x46, 0x04, 0x40, 0x41, 0x01, 0x24), g, Uint8Array.of(0x0b, 0x20, 0x01, 0x0b)])
}

function countImports(s: Section | undefined): { funcs: number; globals: number; memories: number } {
  const out = { funcs: 0, globals: 0, memories: 0 }
  if (s === undefined) return out
  const r = new Reader(s.bytes)
  const n = r.u32()
  for (let i = 0; i < n; i++) {
    r.name()
    r.name()
    const kind = r.byte()
    if (kind === 0) {
      out.funcs++
      r.u32()
    } else if (kind === 1) {
      valType(r)
      limits(r)
    } else if (kind === 2) {
      out.memories++
      limits(r)
    } else if (kind === 3) {
      out.globals++
      valType(r)
      r.byte()
    } else if (kind === 4) {
      r.byte()
      r.u32()
    } else throw new WasmFormatError(`unknown import kind ${kind}`)
  }
  return out
}

function limits(r: Reader): void {
  const flags = r.byte()
  r.u32()
  if (flags & 1) r.u32()
}

function valType(r: Reader): void {
  const t = r.byte()
  if (t === 0x63 || t === 0x64) throw new WasmFormatError('the module uses typed function references (GC proposal), which the instrumenter does not support')
}

function capMemory(bytes: Uint8Array, limitPages: number): { bytes: Uint8Array; initial: number; maximum: number } {
  const r = new Reader(bytes)
  const n = r.u32()
  if (n !== 1) throw new WasmFormatError(`the module defines ${n} memories; a proxy-wasm plugin has exactly one`)
  const flags = r.byte()
  if (flags !== 0 && flags !== 1) throw new WasmFormatError(`memory limits flags 0x${flags.toString(16)} (shared or 64-bit memory) are not supported`)
  const initial = r.u32()
  const declared = flags === 1 ? r.u32() : Infinity
  if (initial > limitPages) throw new WasmFormatError(`the module's memory starts at ${initial} pages (${(initial * PAGE) / 1048576} MiB), above memory_limit (${limitPages} pages)`)
  const maximum = Math.min(declared, limitPages)
  return { bytes: concat([u32(1), Uint8Array.of(0x01), u32(initial), u32(maximum)]), initial, maximum }
}

function appendToVec(existing: Uint8Array | undefined, entry: Uint8Array): Uint8Array {
  if (existing === undefined) return concat([u32(1), entry])
  const r = new Reader(existing)
  const n = r.u32()
  return concat([u32(n + 1), existing.subarray(r.pos), entry])
}

/** One function body with a check after its locals and after each `loop`'s block type. */
function meter(r: Reader, check: Uint8Array, growCall: Uint8Array, index: number): { bytes: Uint8Array; checks: number } {
  const start = r.pos
  const groups = r.u32()
  for (let i = 0; i < groups; i++) {
    r.u32()
    valType(r)
  }
  const parts: Uint8Array[] = [r.buf.subarray(start, r.pos), check]
  let checks = 1
  let from = r.pos
  while (!r.done) {
    const at = r.pos
    const op = r.byte()
    if (op === 0x03) {
      blockType(r)
      parts.push(r.buf.subarray(from, r.pos), check)
      from = r.pos
      checks++
      continue
    }
    if (op === 0x40) {
      if (r.u32() !== 0) throw new WasmFormatError(`function ${index}: memory.grow on a second memory`)
      parts.push(r.buf.subarray(from, at), growCall)
      from = r.pos
      continue
    }
    try {
      skipImmediates(r, op)
    } catch (e) {
      if (e instanceof WasmFormatError) throw new WasmFormatError(`function ${index}, byte ${at}: ${e.message}`)
      throw e
    }
  }
  parts.push(r.buf.subarray(from, r.end))
  return { bytes: concat(parts), checks }
}

function blockType(r: Reader): void {
  const b = r.buf[r.pos]
  if (b === 0x63 || b === 0x64) throw new WasmFormatError('typed function references (GC proposal) are not supported')
  r.skipLeb() // 0x40, a value type (one byte each) or a type index (s33)
}

function memarg(r: Reader): void {
  const align = r.u32()
  if (align & 0x40) r.u32() // multi-memory: the memory index follows
  r.skipLeb()
}

/** Skips the immediates of `op` (the opcode byte already read). Unknown opcodes are an error, never a guess. */
function skipImmediates(r: Reader, op: number): void {
  if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x19 || op === 0x0a || op === 0x1a || op === 0x1b) return
  if ((op >= 0x45 && op <= 0xc4) || op === 0xd1 || op === 0xd3 || op === 0xd4) return
  switch (op) {
    case 0x02: case 0x04: case 0x06: return blockType(r)
    case 0x07: case 0x08: case 0x09: case 0x18: case 0x0c: case 0x0d: case 0x10: case 0x12: case 0x14: case 0x15:
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: case 0xd2: case 0xd5: case 0xd6:
      r.u32()
      return
    case 0x0e: {
      const n = r.u32()
      for (let i = 0; i <= n; i++) r.u32()
      return
    }
    case 0x11: case 0x13:
      r.u32()
      r.u32()
      return
    case 0x1c: {
      const n = r.u32()
      for (let i = 0; i < n; i++) valType(r)
      return
    }
    case 0x1f: {
      blockType(r)
      const n = r.u32()
      for (let i = 0; i < n; i++) {
        const kind = r.byte()
        if (kind <= 1) r.u32()
        r.u32()
      }
      return
    }
    case 0x3f: case 0x40: r.u32(); return
    case 0x41: case 0x42: case 0xd0: r.skipLeb(); return
    case 0x43: r.skip(4); return
    case 0x44: r.skip(8); return
    case 0xfc: return miscOp(r, r.u32())
    case 0xfd: return simdOp(r, r.u32())
    case 0xfe: {
      const sub = r.u32()
      if (sub === 0x03) r.byte()
      else memarg(r)
      return
    }
  }
  if (op >= 0x28 && op <= 0x3e) return memarg(r)
  throw new WasmFormatError(`opcode 0x${op.toString(16)} is not supported by the fuel instrumenter`)
}

function miscOp(r: Reader, sub: number): void {
  if (sub <= 7) return
  if (sub === 8 || sub === 10 || sub === 12 || sub === 14) {
    r.u32()
    r.u32()
    return
  }
  if (sub <= 17) {
    r.u32()
    return
  }
  throw new WasmFormatError(`opcode 0xfc ${sub} is not supported by the fuel instrumenter`)
}

function simdOp(r: Reader, sub: number): void {
  if (sub <= 0x0b || sub === 0x5c || sub === 0x5d) return memarg(r)
  if (sub === 0x0c || sub === 0x0d) return r.skip(16)
  if (sub >= 0x15 && sub <= 0x22) return r.skip(1)
  if (sub >= 0x54 && sub <= 0x5b) {
    memarg(r)
    r.skip(1)
  }
}
