/**
 * The PluginContext facade (api.ts): one small object per request and plugin, made on the plugin's
 * first hook of that request and kept in ctx.filterState under the filter's name, so every later
 * hook (each chunk of a stream) reuses it. Every field is a getter over the RequestContext, read
 * only when the plugin asks; nothing of the runtime (snapshot, stores, config) is reachable from it.
 *
 * hot path: a getter per field, no copies unless asked for (headers, identity are copied once).
 */
import type { RequestContext } from '../../types.js'
import type { PluginContext, PluginIdentity, PluginReply, PluginUsage } from './api.js'

/**
 * What the plugin filter keeps per request and plugin (in ctx.filterState under the filter's
 * name): the flags its wrapper needs, and the facade the plugin's hooks receive.
 */
export class PluginSlot {
  /** Set once a hook of this plugin failed for this request: its later hooks are skipped. */
  failed = false
  /** In onRequest only: setHeader / setBody are allowed. */
  inRequest = false
  /** What ctx.reply() asked for during the current hook. */
  pending: PluginReply | undefined
  /** The current onChunk piece, decoded on first read. */
  raw: Uint8Array | undefined
  text: string | undefined
  decoder: TextDecoder | undefined
  readonly view: PluginRequest

  constructor(ctx: RequestContext) {
    this.view = new PluginRequest(ctx, this)
  }

  /** onChunk: the next piece (decoded lazily; a plugin that never reads `chunk` pays nothing). */
  setChunk(raw: Uint8Array): void {
    // A piece nobody read still feeds the decoder, so a character split across pieces survives.
    if (this.raw !== undefined && this.text === undefined && this.decoder !== undefined) this.decoder.decode(this.raw, { stream: true })
    this.raw = raw
    this.text = undefined
  }
}

/**
 * The facade. Its links to the runtime are `#private` fields: unlike TypeScript's `private`,
 * nothing a plugin can write reaches them (no key, no reflection).
 */
export class PluginRequest implements PluginContext {
  readonly #ctx: RequestContext
  readonly #slot: PluginSlot
  #scratch: Record<string, unknown> | undefined
  #headerView: Readonly<Record<string, string>> | undefined
  #identityView: PluginIdentity | undefined

  constructor(ctx: RequestContext, slot: PluginSlot) {
    this.#ctx = ctx
    this.#slot = slot
  }

  get requestId(): string {
    return this.#ctx.requestId
  }
  get method(): string {
    return this.#ctx.head.method
  }
  get path(): string {
    return this.#ctx.head.path
  }
  get protocol(): 'openai' | 'anthropic' {
    return this.#ctx.protocol
  }
  get headers(): Readonly<Record<string, string>> {
    return (this.#headerView ??= Object.freeze({ ...this.#ctx.headers }))
  }
  setHeader(name: string, value: string | undefined): void {
    this.#requestOnly('setHeader')
    const key = String(name).toLowerCase()
    if (value === undefined) delete this.#ctx.headers[key]
    else this.#ctx.headers[key] = String(value)
    this.#headerView = undefined
  }
  get body(): any {
    return this.#ctx.json
  }
  setBody(body: unknown): void {
    this.#requestOnly('setBody')
    const bytes = Buffer.from(JSON.stringify(body))
    // The gateway's own copy: changes the plugin makes to its object afterwards are not seen.
    this.#ctx.json = JSON.parse(bytes.toString())
    this.#ctx.body = bytes
  }
  get identity(): PluginIdentity | undefined {
    const id = this.#ctx.head.identity
    if (id === undefined) return undefined
    return (this.#identityView ??= Object.freeze({ tenant: id.tenant, labels: Object.freeze({ ...id.labels }), via: id.via, keyId: id.keyId, claims: id.claims && Object.freeze({ ...id.claims }) }))
  }
  get tenant(): string | undefined {
    return this.#ctx.head.identity?.tenant
  }
  get route(): string | undefined {
    return this.#ctx.route?.name
  }
  get cluster(): string | undefined {
    return this.#ctx.cluster?.name
  }
  get model(): string | undefined {
    return this.#ctx.head.model
  }
  get servedModel(): string | undefined {
    return this.#ctx.servedModel
  }
  get status(): number {
    return this.#ctx.status
  }
  get streaming(): boolean {
    const h = this.#ctx.responseHeaders
    for (let i = 0; i < h.length; i++) if (h[i][0] === 'content-type') return h[i][1].startsWith('text/event-stream')
    return false
  }
  get usage(): PluginUsage | undefined {
    const u = this.#ctx.usage
    return u && { inputTokens: u.inputTokens, outputTokens: u.outputTokens, cachedInputTokens: u.cachedInputTokens, reasoningTokens: u.reasoningTokens }
  }
  get state(): Record<string, unknown> {
    return (this.#scratch ??= {})
  }
  get chunk(): string {
    const slot = this.#slot
    const raw = slot.raw
    if (raw === undefined) return ''
    if (slot.text === undefined) slot.text = (slot.decoder ??= new TextDecoder()).decode(raw, { stream: true })
    return slot.text
  }
  reply(status: number, message: string): PluginReply {
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new TypeError(`ctx.reply: status must be an integer 400–599, got ${String(status)}`)
    const r: PluginReply = Object.freeze({ status, message: String(message) })
    this.#slot.pending = r
    return r
  }

  #requestOnly(what: string): void {
    if (!this.#slot.inRequest) throw new TypeError(`ctx.${what} is only allowed in onRequest`)
  }
}

/** The request's slot for the plugin filter named `name` (made on its first hook). */
export function pluginSlotOf(ctx: RequestContext, name: string): PluginSlot {
  const state = (ctx.filterState ??= {})
  let p = state[name] as PluginSlot | undefined
  if (p === undefined) state[name] = p = new PluginSlot(ctx)
  return p
}
