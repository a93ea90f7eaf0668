/**
 * The model registry as the request path reads it: one Map from every name and alias to its
 * compiled model, built once per snapshot. `requestModel` turns the caller's `model` into the
 * name everything after it sees (alias → name, a deprecated model → its replacement when
 * configured); `admission.ts` checks a request against the model it will be sent as.
 *
 * Cost per request: nothing without a registry (the snapshot has none, dispatch skips the call);
 * with one, a Map lookup on the caller's model, plus Date.now() only for a model with a
 * `deprecated_at`.
 *
 * @example
 * const registry = compileModelRegistry([{ name: 'gpt-4o', aliases: ['gpt4o'], … }])
 * requestModel(registry, 'gpt4o')   // 'gpt-4o'
 * requestModel(registry, 'other')   // 'other' (not registered: unchanged)
 */
import type { ModelCapabilitiesIR, ModelIR } from '../../compiler/ir.js'
import { warnDeprecated } from './deprecation.js'

export interface CompiledModel {
  readonly name: string
  /** Infinity when the model has no context_window (never exceeded). */
  readonly contextWindow: number
  /** Infinity when it has no max_output_tokens. */
  readonly maxOutputTokens: number
  readonly capabilities: ModelCapabilitiesIR
  /** Some capability is false: the request's features must be looked at. */
  readonly refusesSome: boolean
  /** Infinity when never deprecated. */
  readonly deprecatedAtMs: number
  readonly deprecatedAt: string | undefined
  /** The replacement, linked once every model is compiled. */
  replacement: CompiledModel | undefined
  readonly rewriteToReplacement: boolean
}

export interface ModelRegistry {
  /** Names and aliases → the model. */
  readonly byName: ReadonlyMap<string, CompiledModel>
  /** The models in config order (listings). */
  readonly models: readonly CompiledModel[]
}

export function compileModelRegistry(models: readonly ModelIR[]): ModelRegistry {
  const byName = new Map<string, CompiledModel>()
  const compiled = models.map((m): CompiledModel => {
    const c = m.capabilities
    return {
      name: m.name,
      contextWindow: m.contextWindow ?? Infinity,
      maxOutputTokens: m.maxOutputTokens ?? Infinity,
      capabilities: c,
      refusesSome: !(c.tools && c.vision && c.jsonMode && c.reasoning && c.streaming),
      deprecatedAtMs: m.deprecatedAtMs ?? Infinity,
      deprecatedAt: m.deprecatedAt,
      replacement: undefined,
      rewriteToReplacement: m.rewriteToReplacement,
    }
  })
  models.forEach((m, i) => {
    byName.set(m.name, compiled[i])
    for (const a of m.aliases) byName.set(a, compiled[i])
  })
  models.forEach((m, i) => {
    if (m.replacement !== undefined) compiled[i].replacement = byName.get(m.replacement)
  })
  return { byName, models: compiled }
}

/**
 * The model name the request is handled as: an alias becomes its model's name; a deprecated
 * model (past deprecated_at) is warned about and, with rewrite_to_replacement, becomes its
 * replacement (following replacements that are rewritten too: the compiler rejects cycles).
 *
 * `warn: false` (explain): the same answer without the warning.
 *
 * hot path: one Map lookup.
 */
export function requestModel(registry: ModelRegistry, asked: string | undefined, warn = true): string | undefined {
  if (asked === undefined) return undefined
  const found = registry.byName.get(asked)
  if (found === undefined) return asked
  let m: CompiledModel = found
  if (m.deprecatedAtMs !== Infinity) {
    const now = Date.now()
    while (m.deprecatedAtMs <= now) {
      const to: CompiledModel | undefined = m.rewriteToReplacement ? m.replacement : undefined
      if (warn) warnDeprecated(m.name, m.deprecatedAt, m.replacement?.name, to?.name, now)
      if (to === undefined) break
      m = to
    }
  }
  return m.name
}
