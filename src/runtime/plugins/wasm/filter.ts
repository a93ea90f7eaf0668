/**
 * `type: wasm` filter: a proxy-wasm plugin as a Filter. One VM per worker per snapshot (made in
 * create(), so the dry build on the main thread has started and configured it once too), one
 * stream context per request:
 *   onRequest  → proxy_on_context_create, proxy_on_request_headers, proxy_on_request_body (the
 *                whole body, end_of_stream = true: the gateway has read it before filters run)
 *   onResponse → proxy_on_response_headers
 *   onChunk    → proxy_on_response_body per chunk (PAUSE holds bytes back until the end)
 *   onComplete → proxy_on_done, proxy_on_log, proxy_on_delete
 * A trap fails that request (500 SY_WASM_TRAP in the caller's protocol, or an error event on a
 * stream already under way), is counted and logged with the plugin's name, and retires the VM:
 * the next request starts a fresh one. Requests already under way finish on the VM they began on.
 *
 * hot path: a no-op plugin costs its callbacks and one small object per request.
 */
import type { WasmFilterIR } from '../../../compiler/ir.js'
import type { Filter, FilterDeps, LocalReply, RequestContext } from '../../types.js'
import { errorReply, responsesErrorEvent, statusErrorReply, streamErrorEvent } from '../../errors.js'
import { finishResponse } from '../../http/respond.js'
import { operationOf } from '../../providers/caller.js'
import { log } from '../../../shared/log.js'
import { countTrap, countVmStart } from './metrics.js'
import { FRAMING_HEADERS } from './header-maps.js'
import { RequestState } from './request-state.js'
import { ROOT_CONTEXT_ID, WasmTrap, WasmVm, type VmSettings } from './vm.js'

const PAUSE = 1
const EMPTY = new Uint8Array(0)
/** After a VM fails to start again, how long requests are refused before the next attempt. */
const RESTART_BACKOFF_MS = 1000
const BAD_HEADER = /[\r\n\0]/

/** Compiled modules by content (sha + memory cap), so a snapshot swap does not compile again. */
const modules = new Map<string, WebAssembly.Module>()

function moduleOf(ir: WasmFilterIR): WebAssembly.Module {
  const key = `${ir.sha256}:${ir.memoryMaxBytes}`
  let m = modules.get(key)
  if (m === undefined) {
    m = new WebAssembly.Module(Buffer.from(ir.binary, 'base64'))
    modules.set(key, m)
    if (modules.size > 16) modules.delete(modules.keys().next().value!)
  }
  return m
}

export function create(config: WasmFilterIR, _deps: FilterDeps): Filter {
  if (typeof config.binary !== 'string') {
    throw new Error("a WASM filter's config cannot be replaced in filter_overrides: disable it on this rule, or declare a second wasm filter with the other configuration")
  }
  const plugin = new WasmPlugin(config, moduleOf(config))
  const has = (cb: string) => config.callbacks.includes(cb)
  const filter: { -readonly [K in keyof Filter]: Filter[K] } = { name: config.plugin }
  const stream = ['proxy_on_context_create', 'proxy_on_request_headers', 'proxy_on_request_body', 'proxy_on_response_headers', 'proxy_on_response_body', 'proxy_on_done', 'proxy_on_log', 'proxy_on_delete']
  if (!stream.some(has)) return filter // root callbacks only: nothing runs per request
  filter.onRequest = (ctx) => plugin.onRequest(ctx)
  if (has('proxy_on_response_headers')) filter.onResponse = (ctx) => plugin.onResponse(ctx)
  if (has('proxy_on_response_headers') || has('proxy_on_response_body')) filter.onChunk = (ctx, chunk, last) => plugin.onChunk(ctx, chunk, last === true)
  if (has('proxy_on_done') || has('proxy_on_log') || has('proxy_on_delete')) filter.onComplete = (ctx) => plugin.onComplete(ctx)
  return filter
}

class WasmPlugin {
  private vm: WasmVm | undefined
  private retryAt = 0
  private readonly settings: VmSettings
  /** The request's state under ctx.filterState (a key no built-in filter uses). */
  private readonly key: string

  constructor(readonly ir: WasmFilterIR, private readonly module: WebAssembly.Module) {
    this.settings = { plugin: ir.plugin, configuration: Buffer.from(ir.configuration), fuel: ir.fuel, memoryMaxBytes: ir.memoryMaxBytes }
    this.key = `wasm:${ir.plugin}`
    this.vm = this.start() // at build: a plugin that cannot start rejects the config
  }

  private start(): WasmVm {
    countVmStart(this.ir.plugin)
    try {
      return new WasmVm(this.module, this.settings)
    } catch (e) {
      if (e instanceof WasmTrap) {
        countTrap(this.ir.plugin, e.reason)
        throw new Error(`the plugin trapped while starting (${e.reason}): ${e.message}`)
      }
      throw e
    }
  }

  /** The VM for a new request: the current one, or a fresh one after a trap (undefined while it cannot start). */
  private live(): WasmVm | undefined {
    const vm = this.vm
    if (vm !== undefined && !vm.broken) return vm
    this.vm = undefined
    const now = performance.now()
    if (now < this.retryAt) return undefined
    try {
      this.vm = this.start()
      return this.vm
    } catch (e) {
      this.retryAt = now + RESTART_BACKOFF_MS
      log('error', 'wasm plugin could not restart', { plugin: this.ir.plugin, error: (e as Error).message })
      return undefined
    }
  }

  private stateOf(ctx: RequestContext): RequestState | undefined {
    return ctx.filterState?.[this.key] as RequestState | undefined
  }

  onRequest(ctx: RequestContext): LocalReply | undefined {
    const vm = this.live()
    if (vm === undefined) return errorReply(ctx.protocol, 'SY_WASM_TRAP', `plugin '${this.ir.plugin}' is unavailable: its VM could not be restarted (request ${ctx.id})`)
    const state = new RequestState(vm, ctx, vm.newContextId())
    ;(ctx.filterState ??= {})[this.key] = state
    const cb = vm.callbacks
    const body = ctx.body
    const hasBody = body !== undefined && body.length > 0
    try {
      if (cb.contextCreate) vm.call('request_headers', state, cb.contextCreate, state.id, ROOT_CONTEXT_ID)
      if (cb.requestHeaders) {
        vm.call('request_headers', state, cb.requestHeaders, state.id, headerCount(ctx), hasBody ? 0 : 1)
        if (state.localReply) return this.localReply(ctx, state)
      }
      if (cb.requestBody && hasBody) {
        state.requestBody = body
        vm.call('request_body', state, cb.requestBody, state.id, body.length, 1)
        if (state.localReply) return this.localReply(ctx, state)
        if (state.requestBodyChanged) return this.applyRequestBody(ctx, state)
        state.requestBody = undefined
      }
    } catch (e) {
      return this.trapped(ctx, state, e)
    }
    return undefined
  }

  onResponse(ctx: RequestContext): void {
    const state = this.stateOf(ctx)
    if (state === undefined || state.stopped) return
    const vm = state.vm
    try {
      vm.call('response_headers', state, vm.callbacks.responseHeaders!, state.id, ctx.responseHeaders.length + 1, 0)
    } catch (e) {
      return this.replaceAnswer(ctx, state, this.trapped(ctx, state, e))
    }
    if (state.localReply) this.replaceAnswer(ctx, state, this.localReply(ctx, state))
  }

  onChunk(ctx: RequestContext, chunk: Uint8Array, last: boolean): Uint8Array | undefined {
    const state = this.stateOf(ctx)
    if (state === undefined) return undefined
    if (state.replacement !== undefined) return this.emitReplacement(ctx, state, last)
    const cb = state.vm.callbacks.responseBody
    if (state.stopped || cb === undefined) {
      if (chunk.length > 0) state.passed = true
      return undefined
    }
    // Nothing new (an earlier filter holds bytes back): no callback, as a proxy calls none without data.
    if (chunk.length === 0 && !last) return undefined
    const held = state.responseBody
    state.responseBody = held === undefined ? chunk : Buffer.concat([held, chunk])
    let action: number
    try {
      action = state.vm.call('response_body', state, cb, state.id, state.responseBody.length, last ? 1 : 0)
    } catch (e) {
      const reply = this.trapped(ctx, state, e)
      return this.failMidAnswer(ctx, state, reply, last)
    }
    if (state.localReply) {
      const reply = this.localReply(ctx, state)
      if (!state.passed) return this.failMidAnswer(ctx, state, reply, last)
      log('warn', 'wasm plugin sent a local reply after the answer started; ignored', { plugin: this.ir.plugin, id: ctx.id })
    }
    if (action === PAUSE && !last) return EMPTY
    const out = state.responseBody
    state.responseBody = undefined
    if (out.length > 0) state.passed = true
    return out
  }

  onComplete(ctx: RequestContext): void {
    const state = this.stateOf(ctx)
    if (state === undefined || state.finalized) return
    state.finalized = true
    if (state.trapped) return
    const vm = state.vm
    const cb = vm.callbacks
    try {
      if (cb.done) vm.call('done', state, cb.done, state.id)
      if (cb.log) vm.call('done', state, cb.log, state.id)
      if (cb.delete) vm.call('done', state, cb.delete, state.id)
    } catch (e) {
      this.trapped(ctx, state, e) // the answer is out; counted and logged all the same
    }
  }

  // ---- failures and replies ----

  /** Counts and logs a trap and stops this request's callbacks; the answer to send instead. */
  private trapped(ctx: RequestContext, state: RequestState, e: unknown): LocalReply {
    if (!(e instanceof WasmTrap)) throw e
    state.stopped = true
    state.trapped = true
    countTrap(this.ir.plugin, e.reason)
    log('error', 'wasm plugin trapped', { plugin: this.ir.plugin, reason: e.reason, error: e.message, id: ctx.id, route: ctx.route?.name ?? '-' })
    return errorReply(ctx.protocol, 'SY_WASM_TRAP', `plugin '${this.ir.plugin}' failed (${e.reason}); request ${ctx.id}`)
  }

  /** proxy_send_local_response, as the gateway answers it: the plugin's body, or an error in the caller's protocol. */
  private localReply(ctx: RequestContext, state: RequestState): LocalReply {
    const r = state.localReply!
    state.localReply = undefined
    state.stopped = true
    if (!Number.isInteger(r.status) || r.status < 200 || r.status > 599) {
      return this.trapped(ctx, state, new WasmTrap('abi_violation', `proxy_send_local_response with status ${r.status}`))
    }
    const headers: [string, string][] = []
    for (const [k, v] of r.headers) {
      const name = k.toLowerCase()
      if (name !== '' && !name.startsWith(':') && !FRAMING_HEADERS.has(name) && !BAD_HEADER.test(name) && !BAD_HEADER.test(v)) headers.push([name, v])
    }
    if (r.body.length > 0) return { status: r.status, headers, body: Buffer.from(r.body) }
    const message = `request refused by plugin '${this.ir.plugin}'${r.details ? ` (${r.details})` : ''}`
    const e = statusErrorReply(ctx.protocol, 'SY_WASM_LOCAL_REPLY', r.status, message)
    return { status: r.status, headers: [...e.headers, ...headers.filter(([k]) => k !== 'content-type')], body: e.body }
  }

  private applyRequestBody(ctx: RequestContext, state: RequestState): LocalReply | undefined {
    const next = Buffer.from(state.requestBody!)
    state.requestBody = undefined
    if (ctx.json !== undefined) {
      try {
        ctx.json = JSON.parse(next.toString('utf8'))
      } catch {
        log('warn', 'wasm plugin rewrote a JSON request body into something else', { plugin: this.ir.plugin, id: ctx.id })
        return errorReply(ctx.protocol, 'SY_WASM_TRAP', `plugin '${this.ir.plugin}' made the request body invalid JSON; request ${ctx.id}`)
      }
    }
    ctx.body = next
    return undefined
  }

  /** Before the head goes out (onResponse): the client gets `reply` instead of the upstream's answer. */
  private replaceAnswer(ctx: RequestContext, state: RequestState, reply: LocalReply): void {
    ctx.status = reply.status
    ctx.responseHeaders = [...reply.headers.map(([k, v]): [string, string] => [k, v]), ['x-request-id', ctx.requestId]]
    state.replacement = reply.body
  }

  /**
   * A response-body callback failed (or replied): before any byte left, the answer becomes `reply`
   * (the head is still unsent: it goes out with the first bytes); on an event stream, an error
   * event ends it; any other started body cannot be repaired, so the connection is closed.
   */
  private failMidAnswer(ctx: RequestContext, state: RequestState, reply: LocalReply, last: boolean): Uint8Array {
    if (!state.passed) {
      this.replaceAnswer(ctx, state, reply)
      ctx.downstream.writeHead(ctx.status, ctx.responseHeaders)
      return this.emitReplacement(ctx, state, last)
    }
    const type = ctx.responseHeaders.find(([k]) => k === 'content-type')?.[1] ?? ''
    if (!type.startsWith('text/event-stream')) throw new Error(`plugin '${this.ir.plugin}' failed after the answer started`)
    const message = `plugin '${this.ir.plugin}' failed; request ${ctx.id}`
    state.replacement = Buffer.from(operationOf(ctx.head.path) === 'responses' ? responsesErrorEvent('SY_WASM_TRAP', message) : streamErrorEvent(ctx.protocol, 'SY_WASM_TRAP', message))
    return this.emitReplacement(ctx, state, last)
  }

  /** The replacement once, then nothing; mid-answer, the upstream is stopped (tokens cost money) and the answer ended. */
  private emitReplacement(ctx: RequestContext, state: RequestState, last: boolean): Uint8Array {
    if (state.replacementSent) return EMPTY
    state.replacementSent = true
    if (!last) queueMicrotask(() => endReplaced(ctx))
    return state.replacement!
  }
}

function endReplaced(ctx: RequestContext): void {
  if (ctx.finished) return
  const exchange = ctx.exchange
  finishResponse(ctx)
  exchange?.onClientAbort()
}

function headerCount(ctx: RequestContext): number {
  let n = 4 // :method :path :authority :scheme
  for (const _ in ctx.headers) n++
  return n
}
