/**
 * The plugin API, version 1: everything a `type: plugin` module sees (docs/plugins.md is its
 * reference). A stable surface over the request, not the runtime's own objects: a field here is
 * never removed or changed in meaning within a major version; new fields may appear.
 */

/** What `create(options, host)` receives besides its options. */
export interface PluginHost {
  /** The filter's name in the config (`filters[].name`). */
  readonly name: string
  /** The plugin API version this gateway implements. */
  readonly apiVersion: number
  /** A gateway log line carrying `plugin: <name>` (secrets in the config are masked as in every line). */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void
}

/** What `create` returns: every hook optional. `onRequest` may be async; the others are synchronous. */
export interface PluginHooks {
  /** Before the request goes upstream. May change headers and body, or answer with `ctx.reply()`. */
  onRequest?(ctx: PluginContext): void | PluginReply | Promise<void | PluginReply>
  /** The answer's status and headers are known (`ctx.status`); nothing sent yet. */
  onResponse?(ctx: PluginContext): void
  /** A piece of the answer on its way to the caller (`ctx.chunk`); `ctx.reply()` stops the answer. */
  onChunk?(ctx: PluginContext): void
  /** The request is over (answered, failed or abandoned); `ctx.usage` when the provider reported it. */
  onComplete?(ctx: PluginContext): void
}

/** A local answer made by `ctx.reply()`. */
export interface PluginReply {
  readonly status: number
  readonly message: string
}

export interface PluginIdentity {
  readonly tenant: string
  readonly labels: Readonly<Record<string, string>>
  readonly via: 'api_key' | 'jwt' | 'trusted_header'
  /** The API key's public id (api_key only). */
  readonly keyId: string | undefined
  /** The verified JWT's claims (jwt only). */
  readonly claims: Readonly<Record<string, unknown>> | undefined
}

export interface PluginUsage {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedInputTokens: number | undefined
  readonly reasoningTokens: number | undefined
}

/** One request as a plugin sees it; one object per request and plugin, the same across its hooks. */
export interface PluginContext {
  /** The request id the caller sees (x-request-id). */
  readonly requestId: string
  readonly method: string
  readonly path: string
  /** The listener's protocol: which error shape the caller gets. */
  readonly protocol: 'openai' | 'anthropic'
  /** Request headers as they will go upstream, lower-case names (a frozen copy). */
  readonly headers: Readonly<Record<string, string>>
  /** onRequest only: sets (or with `undefined` removes) a header sent upstream. */
  setHeader(name: string, value: string | undefined): void
  /** The parsed JSON request body (undefined without one). Change it, then call setBody. */
  readonly body: any
  /** onRequest only: the body to send upstream instead (serialized as JSON). */
  setBody(body: unknown): void
  /** The authenticated caller (an auth filter ran), else undefined. */
  readonly identity: PluginIdentity | undefined
  /** `identity.tenant`, or undefined. */
  readonly tenant: string | undefined
  /** The matched route's name. */
  readonly route: string | undefined
  /** The cluster the request goes to (before any fallback). */
  readonly cluster: string | undefined
  /** The `model` the caller asked for. */
  readonly model: string | undefined
  /** The model sent upstream (after rewrites), once an attempt started. */
  readonly servedModel: string | undefined
  /** The answer's status: 0 before onResponse. */
  readonly status: number
  /** Whether the answer is an event stream (known from onResponse on). */
  readonly streaming: boolean
  /** Token usage, when the provider reported it (onComplete). */
  readonly usage: PluginUsage | undefined
  /** This plugin's scratch object for this request (created on first use). */
  readonly state: Record<string, unknown>
  /** onChunk only: the piece of the answer, as text (UTF-8; a character split across pieces is kept for the next). */
  readonly chunk: string
  /**
   * Answers locally. In onRequest: with `status` (400–599) and `message` in the caller's error
   * shape, nothing goes upstream. In onChunk / onResponse: stops the answer (a stream ends with an
   * error event carrying `message`) and the upstream call is cancelled.
   */
  reply(status: number, message: string): PluginReply
}

/** The module's shape (for TypeScript authors: `export const create: PluginFactory = …`). */
export type PluginFactory<Options = Record<string, unknown>> = (options: Options, host: PluginHost) => PluginHooks
