/**
 * The host side of the proxy-wasm ABI: the `env` and `wasi_snapshot_preview1` functions a module
 * imports (exactly the names in src/shared/proxy-wasm-abi.ts). Each checks every pointer against
 * the module's memory (INVALID_MEMORY_ACCESS, never a host exception), reads what the current
 * callback may see (vm.phase, vm.state) and hands data back through the module's own allocator.
 */
import { randomFillSync } from 'node:crypto'
import { HOST_FUNCTIONS, UNIMPLEMENTED_FUNCTIONS, WASI_MODULE } from '../../../shared/proxy-wasm-abi.js'
import { log, logSettings, type Level } from '../../../shared/log.js'
import { editMap, pairsOf, parsePairs, replaceMap, serializePairs, valueOf, type MapEdit } from './header-maps.js'
import { getProperty } from './properties.js'
import { getShared, setShared } from './shared-data.js'
import type { RequestContext } from '../../types.js'
import { WasmTrap, type Phase } from './trap.js'

/** A plugin's local reply as proxy_send_local_response gives it (the filter turns it into an answer). */
export interface PendingLocalReply {
  readonly status: number
  readonly details: string
  readonly body: Uint8Array
  readonly headers: readonly (readonly [string, string])[]
}

/** What the host functions read and change of the request whose callback runs (request-state.ts). */
export interface HostState {
  readonly ctx: RequestContext
  requestBody: Uint8Array | undefined
  requestBodyChanged: boolean
  responseBody: Uint8Array | undefined
  localReply: PendingLocalReply | undefined
}

/** What the host functions need of their VM (vm.ts). */
export interface HostBinding {
  readonly memory: WebAssembly.Memory
  readonly settings: { readonly plugin: string; readonly configuration: Uint8Array }
  readonly phase: Phase
  readonly state: HostState | undefined
  allocate(n: number): number
}

export const Status = { ok: 0, notFound: 1, badArgument: 2, invalidMemoryAccess: 6, casMismatch: 8, internalFailure: 10, unimplemented: 12 } as const

const BufferType = { requestBody: 0, responseBody: 1, vmConfiguration: 6, pluginConfiguration: 7 } as const

const LEVELS: readonly Level[] = ['debug', 'debug', 'info', 'warn', 'error', 'error']
const LEVEL_NUMBER: Readonly<Record<Level, number>> = { debug: 1, info: 2, warn: 3, error: 4 }
const EMPTY = new Uint8Array(0)
const utf8 = new TextDecoder()

type HostFn = (...args: any[]) => number | void

export function createImports(vm: HostBinding): WebAssembly.Imports {
  const plugin = vm.settings.plugin
  const size = () => vm.memory.buffer.byteLength
  const ok = (ptr: number, len: number) => ptr >>> 0 === ptr && len >>> 0 === len && ptr + len <= size()
  /** A copy of module memory (the module may grow, and so detach, its buffer later). */
  const read = (ptr: number, len: number): Uint8Array | undefined => (ok(ptr, len) ? new Uint8Array(vm.memory.buffer, ptr, len).slice() : undefined)
  const text = (ptr: number, len: number): string | undefined => {
    const b = read(ptr, len)
    return b === undefined ? undefined : utf8.decode(b)
  }
  const putU32 = (ptr: number, v: number): boolean => {
    if (!ok(ptr, 4)) return false
    new DataView(vm.memory.buffer).setUint32(ptr, v >>> 0, true)
    return true
  }
  const putU64 = (ptr: number, v: bigint): boolean => {
    if (!ok(ptr, 8)) return false
    new DataView(vm.memory.buffer).setBigUint64(ptr, v, true)
    return true
  }
  /** Copies `bytes` into memory the module allocates, and writes where and how much. */
  const give = (bytes: Uint8Array, retPtr: number, retSize: number): number => {
    if (!ok(retPtr, 4) || !ok(retSize, 4)) return Status.invalidMemoryAccess
    let at = 0
    if (bytes.length > 0) {
      at = vm.allocate(bytes.length)
      if (at === 0 || !ok(at, bytes.length)) return Status.internalFailure
      new Uint8Array(vm.memory.buffer, at, bytes.length).set(bytes)
    }
    putU32(retPtr, at)
    putU32(retSize, bytes.length)
    return Status.ok
  }
  const ctxOf = () => vm.state?.ctx

  /** The buffer of `type` as the running callback may see it; null: not available now; undefined: unknown type. */
  const bufferOf = (type: number): Uint8Array | null | undefined => {
    const s = vm.state
    if (type === BufferType.requestBody) return vm.phase === 'request_body' ? (s?.requestBody ?? EMPTY) : null
    if (type === BufferType.responseBody) return vm.phase === 'response_body' ? (s?.responseBody ?? EMPTY) : null
    if (type === BufferType.vmConfiguration) return vm.phase === 'vm_start' ? EMPTY : null
    if (type === BufferType.pluginConfiguration) return vm.phase === 'configure' ? vm.settings.configuration : null
    return type >= 0 && type <= 8 ? null : undefined
  }

  const env: Record<string, HostFn> = {
    proxy_log(level: number, ptr: number, len: number) {
      const message = text(ptr, len)
      if (message === undefined) return Status.invalidMemoryAccess
      if (level < 0 || level >= LEVELS.length) return Status.badArgument
      log(LEVELS[level], 'wasm plugin log', { plugin, message, ...(vm.state && { id: vm.state.ctx.id }) })
      return Status.ok
    },
    proxy_get_log_level(retPtr: number) {
      return putU32(retPtr, LEVEL_NUMBER[logSettings().level]) ? Status.ok : Status.invalidMemoryAccess
    },
    proxy_get_current_time_nanoseconds(retPtr: number) {
      return putU64(retPtr, BigInt(Date.now()) * 1_000_000n) ? Status.ok : Status.invalidMemoryAccess
    },
    proxy_get_property(ptr: number, len: number, retPtr: number, retSize: number) {
      const path = text(ptr, len)
      if (path === undefined) return Status.invalidMemoryAccess
      const v = getProperty(path, ctxOf(), plugin)
      return v === undefined ? Status.notFound : give(v, retPtr, retSize)
    },
    proxy_get_buffer_bytes(type: number, start: number, max: number, retPtr: number, retSize: number) {
      const b = bufferOf(type)
      if (b === undefined) return Status.badArgument
      if (b === null) return Status.notFound
      start >>>= 0
      max >>>= 0
      if (start > b.length) return Status.badArgument
      return give(b.subarray(start, Math.min(b.length, start + max)), retPtr, retSize)
    },
    proxy_get_buffer_status(type: number, retSize: number, retFlags: number) {
      const b = bufferOf(type)
      if (b === undefined) return Status.badArgument
      if (b === null) return Status.notFound
      return putU32(retSize, b.length) && putU32(retFlags, 0) ? Status.ok : Status.invalidMemoryAccess
    },
    proxy_set_buffer_bytes(type: number, start: number, len: number, dataPtr: number, dataSize: number) {
      const s = vm.state
      const b = bufferOf(type)
      if (b === undefined) return Status.badArgument
      if (b === null || s === undefined || (type !== BufferType.requestBody && type !== BufferType.responseBody)) return Status.notFound
      const data = read(dataPtr, dataSize)
      if (data === undefined) return Status.invalidMemoryAccess
      const from = Math.min(start >>> 0, b.length)
      const to = Math.min(b.length, from + (len >>> 0))
      const next = Buffer.concat([b.subarray(0, from), data, b.subarray(to)])
      if (type === BufferType.requestBody) {
        s.requestBody = next
        s.requestBodyChanged = true
      } else s.responseBody = next
      return Status.ok
    },
    proxy_get_header_map_pairs(map: number, retPtr: number, retSize: number) {
      const ctx = ctxOf()
      const pairs = ctx === undefined ? [] : pairsOf(ctx, map)
      return pairs === undefined ? Status.badArgument : give(serializePairs(pairs), retPtr, retSize)
    },
    proxy_get_header_map_size(map: number, retSize: number) {
      const ctx = ctxOf()
      const pairs = ctx === undefined ? [] : pairsOf(ctx, map)
      if (pairs === undefined) return Status.badArgument
      return putU32(retSize, serializePairs(pairs).length) ? Status.ok : Status.invalidMemoryAccess
    },
    proxy_set_header_map_pairs(map: number, ptr: number, len: number) {
      const bytes = read(ptr, len)
      if (bytes === undefined) return Status.invalidMemoryAccess
      const pairs = parsePairs(bytes)
      const ctx = ctxOf()
      if (pairs === undefined || ctx === undefined) return Status.badArgument
      return replaceMap(ctx, map, pairs) ? Status.ok : Status.badArgument
    },
    proxy_get_header_map_value(map: number, kPtr: number, kLen: number, retPtr: number, retSize: number) {
      const key = text(kPtr, kLen)
      if (key === undefined) return Status.invalidMemoryAccess
      const ctx = ctxOf()
      if (ctx === undefined) return Status.notFound
      if (pairsOf(ctx, map) === undefined) return Status.badArgument
      const v = valueOf(ctx, map, key)
      return v === undefined ? Status.notFound : give(Buffer.from(v), retPtr, retSize)
    },
    proxy_replace_header_map_value: (map: number, k: number, kl: number, v: number, vl: number) => edit('replace', map, k, kl, v, vl),
    proxy_add_header_map_value: (map: number, k: number, kl: number, v: number, vl: number) => edit('add', map, k, kl, v, vl),
    proxy_remove_header_map_value: (map: number, k: number, kl: number) => edit('remove', map, k, kl, 0, 0),
    proxy_send_local_response(status: number, dPtr: number, dLen: number, bPtr: number, bLen: number, hPtr: number, hLen: number) {
      const s = vm.state
      const details = text(dPtr, dLen)
      const body = read(bPtr, bLen)
      const headerBytes = read(hPtr, hLen)
      if (details === undefined || body === undefined || headerBytes === undefined) return Status.invalidMemoryAccess
      const headers = parsePairs(headerBytes)
      if (headers === undefined || s === undefined) return Status.badArgument
      s.localReply = { status: status >>> 0, details, body, headers }
      return Status.ok
    },
    proxy_get_shared_data(kPtr: number, kLen: number, retPtr: number, retSize: number, retCas: number) {
      const key = text(kPtr, kLen)
      if (key === undefined) return Status.invalidMemoryAccess
      const e = getShared(key)
      if (e === undefined) return Status.notFound
      if (!ok(retCas, 4)) return Status.invalidMemoryAccess
      const r = give(e.value, retPtr, retSize)
      if (r === Status.ok) putU32(retCas, e.cas)
      return r
    },
    proxy_set_shared_data(kPtr: number, kLen: number, vPtr: number, vLen: number, cas: number) {
      const key = text(kPtr, kLen)
      const value = read(vPtr, vLen)
      if (key === undefined || value === undefined) return Status.invalidMemoryAccess
      const r = setShared(key, value, cas >>> 0)
      return r === 'ok' ? Status.ok : r === 'cas_mismatch' ? Status.casMismatch : Status.internalFailure
    },
    // Nothing stays paused past a callback here (see docs/plugins.md), so there is nothing to resume.
    proxy_continue_stream: () => Status.ok,
    proxy_set_effective_context: () => Status.ok,
    // proxy_on_done's `false` is taken as `true`: the context is finalized at once.
    proxy_done: () => Status.notFound,
  }
  for (const name of UNIMPLEMENTED_FUNCTIONS) env[name] = () => Status.unimplemented
  for (const name of HOST_FUNCTIONS) if (env[name] === undefined) throw new Error(`host function ${name} is declared but not implemented`)

  function edit(kind: MapEdit, map: number, kPtr: number, kLen: number, vPtr: number, vLen: number): number {
    const key = text(kPtr, kLen)
    const value = kind === 'remove' ? '' : text(vPtr, vLen)
    if (key === undefined || value === undefined) return Status.invalidMemoryAccess
    const ctx = ctxOf()
    if (ctx === undefined) return Status.notFound
    return editMap(ctx, map, kind, key, value) ? Status.ok : Status.badArgument
  }

  const Errno = { success: 0, badf: 8, fault: 21, inval: 28, notsup: 58 } as const
  const wasi: Record<string, HostFn> = {
    fd_write(fd: number, iovs: number, count: number, retWritten: number) {
      if (fd !== 1 && fd !== 2) return Errno.badf
      if (!ok(iovs, count * 8)) return Errno.fault
      const view = new DataView(vm.memory.buffer)
      const parts: Uint8Array[] = []
      let n = 0
      for (let i = 0; i < count; i++) {
        const p = view.getUint32(iovs + i * 8, true)
        const l = view.getUint32(iovs + i * 8 + 4, true)
        const b = read(p, l)
        if (b === undefined) return Errno.fault
        parts.push(b)
        n += l
      }
      if (!putU32(retWritten, n)) return Errno.fault
      const message = utf8.decode(Buffer.concat(parts)).replace(/\n$/, '')
      if (message !== '') log(fd === 1 ? 'info' : 'error', 'wasm plugin output', { plugin, fd, message })
      return Errno.success
    },
    clock_time_get(id: number, _precision: bigint, retPtr: number) {
      if (id !== 0 && id !== 1) return Errno.notsup
      const ns = id === 0 ? BigInt(Date.now()) * 1_000_000n : process.hrtime.bigint()
      return putU64(retPtr, ns) ? Errno.success : Errno.fault
    },
    random_get(ptr: number, len: number) {
      if (len > 65536) return Errno.inval
      if (!ok(ptr, len)) return Errno.fault
      randomFillSync(new Uint8Array(vm.memory.buffer, ptr, len))
      return Errno.success
    },
    environ_sizes_get: (a: number, b: number) => (putU32(a, 0) && putU32(b, 0) ? Errno.success : Errno.fault),
    environ_get: () => Errno.success,
    args_sizes_get: (a: number, b: number) => (putU32(a, 0) && putU32(b, 0) ? Errno.success : Errno.fault),
    args_get: () => Errno.success,
    proc_exit(code: number) {
      throw new WasmTrap('proc_exit', `the plugin called proc_exit(${code})`)
    },
    sched_yield: () => Errno.success,
  }
  return { env, [WASI_MODULE]: wasi }
}
