/**
 * `type: plugin`: a filter written by the user as a JavaScript module (docs/plugins.md). The
 * module was imported before this snapshot's build (plugins/js/modules.ts); its `create(options,
 * host)` runs here once per snapshot, and its hooks are wrapped so that:
 * - a plugin sees a PluginContext (plugins/js/context.ts), never the RequestContext;
 * - a hook that throws or rejects fails that one request (a PluginFailure to the error boundary:
 *   500, or an error event on a stream under way), counted in switchyard_plugin_errors_total and
 *   logged with the plugin's name; the plugin's later hooks for that request are skipped;
 * - only the hooks the plugin defines are installed, so an absent hook costs nothing.
 */
import type { Filter, FilterDeps, HookResult, LocalReply, RequestContext } from '../types.js'
import type { PluginHooks, PluginHost } from '../plugins/js/api.js'
import { PLUGIN_API_VERSION, pluginModule } from '../plugins/js/modules.js'
import { pluginSlotOf, type PluginSlot } from '../plugins/js/context.js'
import { PluginFailure, type PluginHookName } from '../plugins/js/failure.js'
import { countPluginError } from '../plugins/js/plugin-errors.js'
import { statusErrorReply } from '../errors.js'
import { log } from '../../shared/log.js'

export interface PluginConfig {
  /** The content-hashed file URL the compiler made (resolve/plugins.ts). */
  readonly module: string
  readonly options: Record<string, unknown>
  /** The filter's name in the config, for logs, metrics and the per-request state key. */
  readonly name: string
}

export function create(config: PluginConfig, _deps: FilterDeps): Filter {
  const name = config.name
  if (typeof config.module !== 'string' || !config.module.startsWith('file:')) {
    throw new Error("a plugin's config cannot be replaced by a rule's filter_overrides (use `disabled: true`, or configure a second plugin filter)")
  }
  const loaded = pluginModule(config.module)
  if (loaded === undefined) throw new Error(`plugin module ${config.module} was not loaded before the build`)
  if (!loaded.ok) throw new Error(loaded.message)
  const host: PluginHost = Object.freeze({
    name,
    apiVersion: PLUGIN_API_VERSION,
    log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => log(level, String(message), { ...fields, plugin: name }),
  })
  let hooks: PluginHooks
  try {
    hooks = loaded.module.create(structuredClone(config.options ?? {}), host) as PluginHooks
  } catch (e) {
    throw new Error(`create() threw: ${(e as Error)?.message ?? String(e)}`)
  }
  if (hooks === null || typeof hooks !== 'object') throw new Error('create() must return an object of hooks (onRequest, onResponse, onChunk, onComplete)')
  for (const h of ['onRequest', 'onResponse', 'onChunk', 'onComplete'] as const) {
    if (hooks[h] !== undefined && typeof hooks[h] !== 'function') throw new Error(`create() returned a ${h} that is not a function`)
  }
  return wrapHooks(name, hooks)
}

function wrapHooks(name: string, hooks: PluginHooks): Filter {
  const failed = (p: PluginSlot, ctx: RequestContext, hook: PluginHookName, e: unknown): PluginFailure => {
    p.failed = true
    countPluginError(name, hook)
    const err = e as Error | undefined
    const frame = typeof err?.stack === 'string' ? err.stack.split('\n')[1]?.trim() : undefined
    log('error', 'plugin hook failed; the request fails', { plugin: name, hook, id: ctx.id, route: ctx.route?.name ?? '-', error: err?.message ?? String(e), ...(frame && { at: frame }) })
    // The caller learns which plugin, never the exception's text (it may quote the prompt or a secret).
    return new PluginFailure('SY_PLUGIN_FAILED', name, hook, `plugin '${name}' failed in ${hook} (request ${ctx.id})`)
  }
  const replyOf = (p: PluginSlot, ctx: RequestContext): LocalReply | undefined => {
    const r = p.pending
    if (r === undefined) return undefined
    p.pending = undefined
    return statusErrorReply(ctx.protocol, 'SY_PLUGIN_REPLY', r.status, r.message)
  }
  /** onResponse / onChunk asked to stop: the boundary ends the answer (and the upstream call). */
  const stopIfAsked = (p: PluginSlot, hook: PluginHookName): void => {
    const r = p.pending
    if (r === undefined) return
    p.pending = undefined
    p.failed = true
    throw new PluginFailure('SY_PLUGIN_STOPPED', name, hook, r.message, r.status)
  }
  const filter: { -readonly [K in keyof Filter]: Filter[K] } = { name }
  const onRequest = hooks.onRequest
  if (onRequest) {
    filter.onRequest = (ctx): HookResult => {
      const p = pluginSlotOf(ctx, name)
      if (p.failed) return undefined
      let r: unknown
      p.inRequest = true
      try {
        r = onRequest.call(hooks, p.view)
      } catch (e) {
        throw failed(p, ctx, 'onRequest', e)
      } finally {
        p.inRequest = false
      }
      if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') {
        p.inRequest = true
        return (r as Promise<unknown>).then(
          () => {
            p.inRequest = false
            return replyOf(p, ctx)
          },
          (e) => {
            p.inRequest = false
            throw failed(p, ctx, 'onRequest', e)
          },
        )
      }
      return replyOf(p, ctx)
    }
  }
  const onResponse = hooks.onResponse
  if (onResponse) {
    filter.onResponse = (ctx) => {
      const p = pluginSlotOf(ctx, name)
      if (p.failed) return
      try {
        settleSync(onResponse.call(hooks, p.view), p, ctx, 'onResponse')
      } catch (e) {
        throw failed(p, ctx, 'onResponse', e)
      }
      stopIfAsked(p, 'onResponse')
    }
  }
  const onChunk = hooks.onChunk
  if (onChunk) {
    filter.onChunk = (ctx, chunk) => {
      const p = pluginSlotOf(ctx, name)
      if (p.failed) return
      p.setChunk(chunk)
      try {
        settleSync(onChunk.call(hooks, p.view), p, ctx, 'onChunk')
      } catch (e) {
        throw failed(p, ctx, 'onChunk', e)
      }
      stopIfAsked(p, 'onChunk')
    }
  }
  const onComplete = hooks.onComplete
  if (onComplete) {
    filter.onComplete = (ctx) => {
      const p = pluginSlotOf(ctx, name)
      if (p.failed) return
      try {
        settleSync(onComplete.call(hooks, p.view), p, ctx, 'onComplete')
      } catch (e) {
        // The answer is already out: counted and logged, nothing left to fail.
        failed(p, ctx, 'onComplete', e)
      }
    }
  }
  return filter

  /** These hooks are synchronous: a returned promise is not awaited, but its rejection is still counted and logged. */
  function settleSync(r: unknown, p: PluginSlot, ctx: RequestContext, hook: PluginHookName): void {
    if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') {
      ;(r as Promise<unknown>).then(undefined, (e) => void failed(p, ctx, hook, e))
    }
  }
}
