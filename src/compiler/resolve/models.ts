/**
 * The model registry (`models:`, docs/models.md). Each entry's names are checked unique across
 * every name and alias; its `provider_ids` name known clusters and are merged into those clusters'
 * modelMap (so the request path keeps its one modelMap lookup), where a `model_map` entry naming
 * another id for the same model is an error; its prices become exact rows at the head of the price
 * table, where a `prices` row for the same name is an error; `replacement` names a registered
 * model (aliases resolved), with no cycle; route rules' `model_rewrite` naming an alias are
 * lowered to the canonical name, and a rule matching an alias exactly (which would never match:
 * aliases are resolved before routing) is an error.
 */
import type { ClusterIR, KeyIR, ModelIR, PriceIR, RouteTableIR, RuleIR, TenantIR } from '../ir.js'
import type { ResolveContext } from './context.js'
import { below, where, type Located, type LocatedValue } from './positions.js'
import type { MergedConfig, Obj } from './merge.js'

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/
const DATE = /^\d{4}-\d{2}-\d{2}$/

/** What the registry changes in the rest of the IR. */
export interface RegistryInputs {
  readonly clusters: ClusterIR[]
  readonly routeTables: RouteTableIR[]
  readonly prices: PriceIR[]
  readonly tenants: TenantIR[]
  readonly keys: KeyIR[]
}

export interface ResolvedModels extends RegistryInputs {
  /** Undefined without a `models` section (the runtime then does nothing per request). */
  readonly models: readonly ModelIR[] | undefined
}

/** `deprecated_at` as epoch ms: a date-time with a zone, or a date (midnight UTC); undefined when unreadable. */
export function deprecationTime(text: string): number | undefined {
  const ms = RFC3339.test(text) ? Date.parse(text) : DATE.test(text) ? Date.parse(`${text}T00:00:00Z`) : NaN
  return Number.isFinite(ms) ? ms : undefined
}

export function resolveModels(config: MergedConfig, inputs: RegistryInputs, ctx: ResolveContext): ResolvedModels {
  const { clusters, routeTables, prices } = inputs
  if (config.models.size === 0) return { models: undefined, ...inputs }
  const canonical = namesOf(config, ctx)
  const clusterIndex = new Map(clusters.map((c, i) => [c.name, i]))
  const mapped = clusters.map((c) => ({ ...c.modelMap }))
  const models: ModelIR[] = []
  for (const [name, m] of config.models) {
    const v = m.value
    ctx.positions.record(['models', models.length], m)
    const providerIds: Record<string, string> = {}
    for (const [cluster, id] of Object.entries((v.provider_ids ?? {}) as Record<string, string>)) {
      const i = clusterIndex.get(cluster)
      if (i === undefined) {
        ctx.report('SY_CFG_UNKNOWN_CLUSTER', below(m, 'provider_ids'), `model '${name}': unknown cluster '${cluster}' (known: ${[...clusterIndex.keys()].join(', ') || 'none'})`, cluster)
        continue
      }
      providerIds[cluster] = id
      mergeProviderId(name, cluster, id, m, config.clusters.get(cluster)!, mapped[i], ctx)
    }
    const deprecatedAtMs = v.deprecated_at === undefined ? undefined : deprecationTime(v.deprecated_at)
    if (v.deprecated_at !== undefined && deprecatedAtMs === undefined) {
      ctx.report('SY_CFG_MODEL', below(m, 'deprecated_at'), `model '${name}': deprecated_at ${JSON.stringify(v.deprecated_at)} is neither an RFC 3339 date-time with a zone (2026-06-30T00:00:00Z) nor a date (2026-06-30)`)
    }
    let replacement: string | undefined
    if (v.replacement !== undefined) {
      replacement = canonical.get(v.replacement)
      if (replacement === undefined) ctx.report('SY_CFG_MODEL', below(m, 'replacement'), `model '${name}': replacement '${v.replacement}' is not a registered model (known: ${[...config.models.keys()].join(', ')})`)
      else if (replacement === name) ctx.report('SY_CFG_MODEL', below(m, 'replacement'), `model '${name}' cannot be its own replacement`)
    }
    if (v.rewrite_to_replacement === true && (v.replacement === undefined || v.deprecated_at === undefined)) {
      ctx.report('SY_CFG_MODEL', below(m, 'rewrite_to_replacement'), `model '${name}': rewrite_to_replacement needs ${v.replacement === undefined ? 'a replacement' : 'deprecated_at'}`)
    }
    const caps = (v.capabilities ?? {}) as Obj
    const p = v.prices as Obj | undefined
    models.push({
      name,
      aliases: [...((v.aliases ?? []) as string[])],
      providerIds,
      ...(v.owned_by !== undefined && { ownedBy: v.owned_by }),
      ...(v.context_window !== undefined && { contextWindow: v.context_window }),
      ...(v.max_output_tokens !== undefined && { maxOutputTokens: v.max_output_tokens }),
      capabilities: { tools: caps.tools !== false, vision: caps.vision !== false, jsonMode: caps.json_mode !== false, reasoning: caps.reasoning !== false, streaming: caps.streaming !== false },
      ...(p !== undefined && { prices: { input: p.input, output: p.output, ...(p.cached_input !== undefined && { cachedInput: p.cached_input }) } }),
      ...(v.deprecated_at !== undefined && { deprecatedAt: v.deprecated_at }),
      ...(deprecatedAtMs !== undefined && { deprecatedAtMs }),
      ...(replacement !== undefined && replacement !== name && { replacement }),
      rewriteToReplacement: v.rewrite_to_replacement === true,
    })
  }
  reportReplacementCycles(models, config, ctx)
  return {
    models,
    clusters: clusters.map((c, i) => ({ ...c, modelMap: mapped[i] })),
    routeTables: lowerRouteAliases(routeTables, canonical, ctx),
    prices: registryPrices(models, config, prices, ctx),
    // Tenants' and keys' `models` see the resolved name, so an alias listed there allows its model.
    tenants: inputs.tenants.map((t) => (t.models === undefined ? t : { ...t, models: lowerNames(t.models, canonical) })),
    keys: inputs.keys.map((k) => (k.models === undefined ? k : { ...k, models: lowerNames(k.models, canonical) })),
  }
}

/** Every name and alias → the model's name; a name or alias taken twice is reported at the second. */
function namesOf(config: MergedConfig, ctx: ResolveContext): Map<string, string> {
  const owner = new Map<string, { model: string; at: Located }>()
  const claim = (n: string, model: string, at: Located) => {
    const first = owner.get(n)
    if (first === undefined) return void owner.set(n, { model, at })
    const whose = first.model === n ? `the name of model '${n}'` : `an alias of model '${first.model}'`
    ctx.report('SY_CFG_DUPLICATE', at, `model '${model}': '${n}' is already ${whose} (at ${where(first.at)})`)
  }
  // Names first, so an alias that takes a later model's name is the one reported.
  for (const [name, m] of config.models) claim(name, name, below(m, 'name'))
  for (const [name, m] of config.models) ((m.value.aliases ?? []) as string[]).forEach((a, i) => claim(a, name, below(m, 'aliases', i)))
  return new Map([...owner].map(([n, o]) => [n, o.model]))
}

/** The model's id for `cluster` into that cluster's modelMap; a `model_map` entry for it must agree. */
function mergeProviderId(name: string, cluster: string, id: string, m: LocatedValue<Obj>, clusterAt: Located, map: Record<string, string>, ctx: ResolveContext): void {
  if (Object.hasOwn(map, name) && map[name] !== id) {
    const there = where(below(clusterAt, 'model_map', name))
    ctx.report('SY_CFG_MODEL', below(m, 'provider_ids', cluster), `model '${name}': provider id '${id}' for cluster '${cluster}' conflicts with '${map[name]}' in that cluster's model_map (at ${there}); keep one of them`)
    return
  }
  map[name] = id
}

/** Exact names that are aliases become their model's name (globs stay as written). */
function lowerNames(names: readonly string[], canonical: ReadonlyMap<string, string>): string[] {
  return names.map((n) => canonical.get(n) ?? n)
}

/** A chain of replacements that comes back to where it started is reported once, at its first model. */
function reportReplacementCycles(models: readonly ModelIR[], config: MergedConfig, ctx: ResolveContext): void {
  const next = new Map(models.map((m) => [m.name, m.replacement]))
  const reported = new Set<string>()
  for (const m of models) {
    const seen: string[] = []
    let at: string | undefined = m.name
    while (at !== undefined && !seen.includes(at)) {
      seen.push(at)
      at = next.get(at)
    }
    if (at !== m.name || reported.has(m.name)) continue
    for (const s of seen) reported.add(s)
    ctx.report('SY_CFG_MODEL', below(config.models.get(m.name)!, 'replacement'), `model '${m.name}': replacements go round in a circle (${[...seen, m.name].join(' → ')})`)
  }
}

/**
 * Rules' `model_rewrite` (and fallback entries') naming an alias become the canonical name, so the
 * cluster's modelMap finds it; an exact `model` match on an alias is an error.
 */
function lowerRouteAliases(tables: RouteTableIR[], canonical: ReadonlyMap<string, string>, ctx: ResolveContext): RouteTableIR[] {
  const lower = (n: string | undefined) => (n === undefined ? undefined : canonical.get(n) ?? n)
  return tables.map((t, ti) => ({
    ...t,
    rules: t.rules.map((r, ri): RuleIR => {
      const ruleAt = ctx.positions.locate(['routeTables', ti, 'rules', ri])
      const m = r.match.model
      if (m?.kind === 'exact' && canonical.has(m.value) && canonical.get(m.value) !== m.value && ruleAt) {
        ctx.report('SY_CFG_MODEL', below(ruleAt, 'match', 'model', 'exact'), `'${m.value}' is an alias of model '${canonical.get(m.value)}': aliases are resolved before routing, so match '${canonical.get(m.value)}'`)
      }
      const a = r.action
      const action = a.kind === 'fallback' ? { ...a, clusters: a.clusters.map((c) => ({ ...c, ...(c.modelRewrite !== undefined && { modelRewrite: lower(c.modelRewrite)! }) })) } : a
      return { ...r, action, ...(r.modelRewrite !== undefined && { modelRewrite: lower(r.modelRewrite)! }) }
    }),
  }))
}

/**
 * Registered prices as exact rows before the `prices` table: for the name and aliases, and for each
 * provider id (what the gateway sent upstream, which budgets price first) unless another model
 * prices that id differently. A `prices` row naming any of them exactly is an error.
 */
function registryPrices(models: readonly ModelIR[], config: MergedConfig, prices: PriceIR[], ctx: ResolveContext): PriceIR[] {
  const rows = new Map<string, { row: PriceIR; model: string }>()
  const ambiguous = new Set<string>()
  for (const m of models) {
    if (m.prices === undefined) continue
    const row = (model: string): PriceIR => ({ model, ...m.prices! })
    for (const n of [m.name, ...m.aliases]) rows.set(n, { row: row(n), model: m.name })
  }
  for (const m of models) {
    if (m.prices === undefined) continue
    for (const id of new Set(Object.values(m.providerIds))) {
      const have = rows.get(id)
      if (have === undefined) rows.set(id, { row: { model: id, ...m.prices }, model: m.name })
      else if (have.model !== m.name && !samePrice(have.row, m.prices) && !models.some((o) => o.name === id || o.aliases.includes(id))) ambiguous.add(id)
    }
  }
  for (const id of ambiguous) rows.delete(id)
  const p = config.prices
  prices.forEach((row, i) => {
    const clash = rows.get(row.model)
    if (clash === undefined || p === undefined) return
    const at = below(config.models.get(clash.model)!, 'prices')
    ctx.report('SY_CFG_DUPLICATE', below(p, i, 'model'), `model '${row.model}' is priced twice: here and by model '${clash.model}' in the registry (at ${where(at)}); keep one of them`)
  })
  return [...[...rows.values()].map((r) => r.row), ...prices]
}

function samePrice(a: Omit<PriceIR, 'model'>, b: Omit<PriceIR, 'model'>): boolean {
  return a.input === b.input && a.output === b.output && (a.cachedInput ?? a.input) === (b.cachedInput ?? b.input)
}
