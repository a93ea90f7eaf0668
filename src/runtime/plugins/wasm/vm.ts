/**
 * One proxy-wasm VM: an instance of the plugin's (instrumented) module with its host functions,
 * its root context started and configured. One per worker per plugin per snapshot; a trap retires
 * it (the filter starts another for later requests).
 *
 * Every callback goes through call(): the fuel global is refilled first, and any exception out of
 * the module becomes a WasmTrap with a reason (metrics.ts), so a trap never escapes as anything else.
 */
import { FUEL_GLOBAL, OOM_GLOBAL } from '../../../shared/proxy-wasm-abi.js'
import { createImports } from './host.js'
import { WasmTrap, type Phase } from './trap.js'
import type { HostState } from './host.js'

export { WasmTrap, type Phase } from './trap.js'

export const ROOT_CONTEXT_ID = 1

/** What the plugin is given at start, and its limits. */
export interface VmSettings {
  readonly plugin: string
  readonly configuration: Uint8Array
  readonly fuel: number
  /** The memory's cap in bytes (the instrumented module's maximum). */
  readonly memoryMaxBytes: number
}

/** The plugin refused its configuration (proxy_on_vm_start / proxy_on_configure returned false). */
export class WasmStartError extends Error {}

type Callback = (...args: number[]) => number

export interface Callbacks {
  readonly contextCreate: Callback | undefined
  readonly requestHeaders: Callback | undefined
  readonly requestBody: Callback | undefined
  readonly responseHeaders: Callback | undefined
  readonly responseBody: Callback | undefined
  readonly done: Callback | undefined
  readonly log: Callback | undefined
  readonly delete: Callback | undefined
}

export class WasmVm {
  readonly memory: WebAssembly.Memory
  readonly callbacks: Callbacks
  private readonly fuel: WebAssembly.Global
  private readonly oom: WebAssembly.Global
  private readonly allocator: Callback
  /** The request whose callback runs now (undefined for root callbacks). */
  state: HostState | undefined
  phase: Phase = 'start'
  private nextId = ROOT_CONTEXT_ID + 1
  /** Set once a callback trapped: nothing more runs on this VM. */
  broken = false

  constructor(module: WebAssembly.Module, readonly settings: VmSettings) {
    const instance = new WebAssembly.Instance(module, createImports(this))
    const ex = instance.exports as Record<string, unknown>
    this.memory = ex.memory as WebAssembly.Memory
    this.fuel = ex[FUEL_GLOBAL] as WebAssembly.Global
    this.oom = ex[OOM_GLOBAL] as WebAssembly.Global
    this.allocator = (ex.proxy_on_memory_allocate ?? ex.malloc) as Callback
    const fn = (name: string) => (typeof ex[name] === 'function' ? (ex[name] as Callback) : undefined)
    this.callbacks = {
      contextCreate: fn('proxy_on_context_create'),
      requestHeaders: fn('proxy_on_request_headers'),
      requestBody: fn('proxy_on_request_body'),
      responseHeaders: fn('proxy_on_response_headers'),
      responseBody: fn('proxy_on_response_body'),
      done: fn('proxy_on_done'),
      log: fn('proxy_on_log'),
      delete: fn('proxy_on_delete'),
    }
    // The spec's start sequence: _initialize (then main) for reactors, _start for commands.
    const init = fn('_initialize')
    if (init) {
      this.call('start', undefined, init)
      const main = fn('main')
      if (main) this.call('start', undefined, main, 0, 0)
    } else {
      const start = fn('_start')
      if (start) this.call('start', undefined, start)
    }
    const create = this.callbacks.contextCreate
    if (create) this.call('start', undefined, create, ROOT_CONTEXT_ID, 0)
    const vmStart = fn('proxy_on_vm_start')
    if (vmStart && this.call('vm_start', undefined, vmStart, ROOT_CONTEXT_ID, 0) === 0) throw new WasmStartError('proxy_on_vm_start returned false')
    const configure = fn('proxy_on_configure')
    if (configure && this.call('configure', undefined, configure, ROOT_CONTEXT_ID, settings.configuration.length) === 0) {
      throw new WasmStartError('proxy_on_configure returned false (the plugin rejected its configuration)')
    }
  }

  newContextId(): number {
    return this.nextId++
  }

  /**
   * Runs one callback with a full tank of fuel, `state` and `phase` in scope for the host
   * functions. Throws WasmTrap (and marks the VM broken) when the module traps.
   */
  call(phase: Phase, state: HostState | undefined, fn: Callback, a = 0, b = 0, c = 0): number {
    const outerPhase = this.phase
    const outerState = this.state
    this.phase = phase
    this.state = state
    this.fuel.value = this.settings.fuel
    this.oom.value = 0
    try {
      return fn(a, b, c) >>> 0
    } catch (e) {
      this.broken = true
      throw this.trapOf(e)
    } finally {
      this.phase = outerPhase
      this.state = outerState
    }
  }

  /** Memory in the module for `n` bytes, from its own allocator (fuel counts against the running callback). */
  allocate(n: number): number {
    return this.allocator(n) >>> 0
  }

  private trapOf(e: unknown): WasmTrap {
    if (e instanceof WasmTrap) return e
    const message = e instanceof Error ? e.message : String(e)
    if ((this.fuel.value as number) < 0) return new WasmTrap('out_of_fuel', `ran out of fuel (${this.settings.fuel} units per callback)`)
    if (e instanceof WebAssembly.RuntimeError) {
      if (message.includes('out of bounds') && message.includes('memory')) return new WasmTrap('out_of_bounds', message)
      if (this.oom.value === 1) return new WasmTrap('memory_limit', `${message} after memory.grow failed at the memory limit (${this.settings.memoryMaxBytes} bytes)`)
      return new WasmTrap(message === 'unreachable' ? 'unreachable' : 'trap', message)
    }
    if (e instanceof RangeError && message.includes('call stack')) return new WasmTrap('stack_overflow', message)
    return new WasmTrap('host_error', message)
  }
}
