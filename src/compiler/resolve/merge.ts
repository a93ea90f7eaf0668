/**
 * Documents → one config: each kind's objects by name, the admin, runtime, redis and prices sections, each with
 * where it was written. A name defined twice (in any documents) is reported at the second
 * definition, citing the first; the first one stays.
 */
import type { LoadedDoc } from '../load.js'
import type { ResolveContext } from './context.js'
import { where, type LocatedValue } from './positions.js'

export type Obj = Record<string, any>

export const KINDS = ['listeners', 'routes', 'clusters', 'filters', 'tenants', 'keys', 'models'] as const
export type Kind = (typeof KINDS)[number]

export interface MergedConfig {
  readonly listeners: Map<string, LocatedValue<Obj>>
  readonly routes: Map<string, LocatedValue<Obj>>
  readonly clusters: Map<string, LocatedValue<Obj>>
  readonly filters: Map<string, LocatedValue<Obj>>
  readonly tenants: Map<string, LocatedValue<Obj>>
  /** By key id. */
  readonly keys: Map<string, LocatedValue<Obj>>
  /** The model registry, by public name. */
  readonly models: Map<string, LocatedValue<Obj>>
  admin?: LocatedValue<Obj>
  runtime?: LocatedValue<Obj>
  redis?: LocatedValue<Obj>
  /** The `prices` list (a section like admin: one document sets it). */
  prices?: LocatedValue<Obj[]>
  telemetry?: LocatedValue<Obj>
  log?: LocatedValue<Obj>
  batches?: LocatedValue<Obj>
}

export function emptyConfig(): MergedConfig {
  return { listeners: new Map(), routes: new Map(), clusters: new Map(), filters: new Map(), tenants: new Map(), keys: new Map(), models: new Map() }
}

const SINGULAR: Readonly<Record<Kind, string>> = { listeners: 'listener', routes: 'route table', clusters: 'cluster', filters: 'filter', tenants: 'tenant', keys: 'key id', models: 'model' }
/** The field that names an object of each kind: keys are named by their public id. */
const NAME_FIELD: Readonly<Record<Kind, string>> = { listeners: 'name', routes: 'name', clusters: 'name', filters: 'name', tenants: 'name', keys: 'id', models: 'name' }

/** Sections that one document at most may set. */
const SECTIONS = ['admin', 'runtime', 'redis', 'prices', 'telemetry', 'log', 'batches'] as const
type Section = (typeof SECTIONS)[number]

/** Adds one validated document to `into`. */
export function mergeDoc(into: MergedConfig, doc: LoadedDoc, ctx: Pick<ResolveContext, 'report'>): void {
  const v = doc.value as Obj
  if (v === null || typeof v !== 'object') return
  for (const section of SECTIONS) {
    if (!v[section]) continue
    const first = into[section]
    if (first) ctx.report('SY_CFG_DUPLICATE', { doc, at: [section] }, `duplicate ${section} section (first defined at ${where(first)})`)
    else (into as Record<Section, LocatedValue<unknown>>)[section] = { value: v[section], doc, at: [section] }
  }
  for (const kind of KINDS) {
    const field = NAME_FIELD[kind]
    ;((v[kind] ?? []) as Obj[]).forEach((item, i) => {
      const name = item[field]
      const first = into[kind].get(name)
      if (first) ctx.report('SY_CFG_DUPLICATE', { doc, at: [kind, i, field] }, `duplicate ${SINGULAR[kind]} '${name}' (first defined at ${where(first)})`)
      else into[kind].set(name, { value: item, doc, at: [kind, i] })
    })
  }
}
