/**
 * Which models a tenant or a key may use: exact names and globs (`gpt-4o*`, `claude-?-haiku`),
 * compiled once per snapshot. Exact names go in a Set; globs run on the same linear-time engine as
 * route model globs (compileGlob), because the model name is the caller's.
 *
 * @example
 * const access = compileModelAccess(['gpt-4o-mini', 'claude-*'])
 * access.allows('claude-3-5-haiku')   // true
 * access.allows('gpt-4o')             // false
 */
import { compileGlob } from '../../shared/route-regex.js'
import type { RE2JS } from 're2js'

export interface ModelAccess {
  /** True when `model` is one of the names or matches one of the globs. */
  allows(model: string): boolean
  /** True for `['*']`: every model, so callers may skip the check. */
  readonly all: boolean
  /** The patterns as configured, for describe()/admin output. */
  readonly patterns: readonly string[]
}

const isGlob = (p: string) => p.includes('*') || p.includes('?')

/** Compiles the allow list. An empty list allows nothing (a tenant with `models: []` may use no model). */
export function compileModelAccess(patterns: readonly string[]): ModelAccess {
  const exact = new Set<string>()
  const globs: RE2JS[] = []
  let all = false
  for (const p of patterns) {
    if (p === '*') all = true
    else if (isGlob(p)) globs.push(compileGlob(p))
    else exact.add(p)
  }
  const frozen = Object.freeze([...patterns])
  if (all) return { all, patterns: frozen, allows: () => true }
  return {
    all,
    patterns: frozen,
    allows(model) {
      if (exact.has(model)) return true
      for (const g of globs) if (g.test(model)) return true
      return false
    },
  }
}

/** Every model: what a tenant without a `models` list gets. */
export const ALL_MODELS: ModelAccess = compileModelAccess(['*'])

/**
 * A key's models narrow its tenant's: a request may use a model only when every applicable list
 * allows it (tenant, then key; an undefined list places no restriction).
 */
export function allowsModel(model: string, tenant: ModelAccess | undefined, key: ModelAccess | undefined): boolean {
  return (tenant === undefined || tenant.allows(model)) && (key === undefined || key.allows(model))
}
