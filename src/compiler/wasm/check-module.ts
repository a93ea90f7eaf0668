/**
 * A proxy-wasm module as the compiler accepts it: valid WebAssembly, speaking ABI v0.2.x, importing
 * nothing outside the hosted subset (src/shared/proxy-wasm-abi.ts), exporting its memory and an
 * allocator; then instrumented (instrument.ts) and checked again. Each refusal is one sentence the
 * resolver reports at the filter's `config.module`.
 */
import { ABI_MARKERS, isHostedImport, WASI_MODULE } from '../../shared/proxy-wasm-abi.js'
import { instrument, WasmFormatError } from './instrument.js'

export interface CheckedModule {
  /** The instrumented module, ready for WebAssembly.Module in a worker. */
  readonly binary: Uint8Array
  readonly memory: { readonly initial: number; readonly maximum: number }
  /** The proxy_on_* callbacks it exports (the others are not called). */
  readonly callbacks: readonly string[]
}

export function checkModule(bytes: Uint8Array, memoryLimitBytes: number): CheckedModule | { readonly error: string } {
  let mod: WebAssembly.Module
  try {
    mod = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>)
  } catch (e) {
    return { error: `not a valid WebAssembly module: ${(e as Error).message.replace(/^WebAssembly\.Module\(\): /, '')}` }
  }
  const unknown: string[] = []
  for (const i of WebAssembly.Module.imports(mod)) {
    if (i.kind === 'memory') return { error: 'the module imports its memory; a proxy-wasm plugin must define (and export) its own' }
    if (i.kind !== 'function' || !isHostedImport(i.module, i.name)) unknown.push(`${i.module}.${i.name}${i.kind !== 'function' ? ` (${i.kind})` : ''}`)
  }
  if (unknown.length > 0) {
    return { error: `imports outside the supported proxy-wasm subset: ${unknown.join(', ')} (the host provides env.proxy_* of ABI v0.2.1 and ${WASI_MODULE}'s fd_write, clock_time_get, random_get, environ_*, args_*, proc_exit, sched_yield; see docs/plugins.md)` }
  }
  const exports = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]))
  if (!ABI_MARKERS.some((m) => exports.get(m) === 'function')) return { error: `exports no ABI marker (${ABI_MARKERS.join(' or ')}): not a proxy-wasm v0.2 module` }
  if (exports.get('memory') !== 'memory') return { error: "exports no memory named 'memory'" }
  if (exports.get('proxy_on_memory_allocate') !== 'function' && exports.get('malloc') !== 'function') return { error: 'exports no allocator (proxy_on_memory_allocate or malloc): the host cannot hand it data' }
  let out
  try {
    out = instrument(bytes, { memoryLimitBytes })
  } catch (e) {
    if (e instanceof WasmFormatError) return { error: e.message }
    throw e
  }
  try {
    new WebAssembly.Module(out.binary as Uint8Array<ArrayBuffer>)
  } catch (e) {
    // The instrumenter's own bug, never the plugin's: say so rather than blame the module.
    return { error: `the gateway could not instrument this module (fuel/memory limits): ${(e as Error).message}` }
  }
  const callbacks = [...exports.keys()].filter((n) => n.startsWith('proxy_on_') && exports.get(n) === 'function')
  return { binary: out.binary, memory: out.memory, callbacks }
}
