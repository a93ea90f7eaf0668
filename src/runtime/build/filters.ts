/**
 * Filter instances: each configured filter's factory runs once per snapshot; a rule's override
 * config gets its own instance. Chains are flattened into one array per hook.
 */
import type { FilterIR, ListenerIR, RuleIR } from '../../compiler/ir.js'
import type { CompiledChain, Filter, FilterDeps } from '../types.js'
import { filterFactories } from '../filters/index.js'

export class FilterBuildError extends Error {
  constructor(readonly filter: string, readonly rule: string | undefined, message: string) {
    super(message)
  }
}

export function createFilter(f: { name: string; type: string; config: Record<string, unknown> }, deps: FilterDeps, rule?: string): Filter {
  const factory = filterFactories[f.type]
  if (!factory) throw new FilterBuildError(f.name, rule, `unknown filter type '${f.type}'`)
  try {
    // The instance is named after the config entry, not the type, for explain and logs.
    return { ...factory(f.config, deps), name: f.name }
  } catch (e) {
    throw new FilterBuildError(f.name, rule, (e as Error).message)
  }
}

export function createFilters(filters: readonly FilterIR[], deps: FilterDeps): Map<string, Filter> {
  return new Map(filters.map((f) => [f.name, createFilter(f, deps)]))
}

/**
 * Instances made before the build (the dry build makes each one once, to report every rejected
 * config): configured filters by name, override instances by rule (the RuleIR itself) and name.
 */
export interface PrebuiltFilters {
  readonly configured: ReadonlyMap<string, Filter>
  readonly overrides: ReadonlyMap<RuleIR, ReadonlyMap<string, Filter>>
}

/** The listener's pre-route (auth) filters, in its order: they run before the route match. */
export function preRouteFilters(listener: ListenerIR, instances: ReadonlyMap<string, Filter>): Filter[] {
  const out: Filter[] = []
  for (const name of listener.filters) {
    const f = instances.get(name)
    if (f?.phase === 'pre_route' && f.onRequest) out.push(f)
  }
  return out
}

export function buildChain(list: readonly Filter[]): CompiledChain {
  return {
    names: list.map((f) => f.name),
    onRequest: list.filter((f) => f.onRequest),
    onResponse: list.filter((f) => f.onResponse),
    onChunk: list.filter((f) => f.onChunk),
    onComplete: list.filter((f) => f.onComplete),
  }
}

export function chainForRule(
  listener: ListenerIR,
  rule: RuleIR | undefined,
  instances: ReadonlyMap<string, Filter>,
  irByName: ReadonlyMap<string, FilterIR>,
  deps: FilterDeps,
  prebuilt?: PrebuiltFilters['overrides'],
): CompiledChain {
  const list: Filter[] = []
  for (const name of listener.filters) {
    // Pre-route filters ran before the match: they are the listener's, not the route's.
    if (instances.get(name)?.phase === 'pre_route') continue
    const o = rule?.filterOverrides[name]
    if (o && 'disabled' in o) continue
    if (o && 'config' in o) list.push(prebuilt?.get(rule!)?.get(name) ?? createFilter({ ...irByName.get(name)!, config: o.config }, deps, rule!.name))
    else list.push(instances.get(name)!)
  }
  return buildChain(list)
}
