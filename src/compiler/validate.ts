/**
 * Schema validation: every loaded document against schemas/switchyard.schema.json (ajv, 2020-12;
 * generated at build time when it can be, schema-set.ts),
 * with all errors mapped back to `source:line:col` (worded by schema-errors.ts). Fills schema
 * defaults into the plain values.
 */
import type { ValidateFunction } from 'ajv'
import type { Diagnostic } from './diagnostics.js'
import { formatPath } from './diagnostics.js'
import { positionOf, type LoadedDoc } from './load.js'
import { collapse, type Problem, type RefResolver, type Schema } from './schema-errors.js'
import { AJV_OPTIONS, SCHEMA_BASE, ajv2020, ajvWithSchemas, loadGenerated, readSchemaSet, validatorName } from './schema-set.js'

export { SCHEMA_BASE }

interface Validators {
  /** `generated`: the build's standalone code; `ajv`: compiled at run time. */
  readonly origin: 'generated' | 'ajv'
  readonly root: ValidateFunction
  filter(type: string): ValidateFunction | undefined
  readonly resolve: RefResolver
}

let cached: Validators | undefined

/** The build's generated validators when they match the schema files, else ajv compiling them now (schema-set.ts says why). */
function setup(): Validators {
  if (cached) return cached
  const set = readSchemaSet()
  const resolve = refResolver()
  const generated = loadGenerated(set)
  if (generated) {
    const fn = (name: string) => (typeof generated[name] === 'function' ? (generated[name] as ValidateFunction) : undefined)
    cached = { origin: 'generated', root: fn('root')!, filter: (type) => fn(validatorName(`filters/${type}.schema.json`)), resolve }
  } else {
    const ajv = ajvWithSchemas(set)
    cached = { origin: 'ajv', root: ajv.getSchema(SCHEMA_BASE + 'switchyard.schema.json')!, filter: (type) => ajv.getSchema(SCHEMA_BASE + `filters/${type}.schema.json`), resolve }
  }
  return cached
}

/** Where this process's validators came from (the build test checks that `npm run build` made them). */
export function validatorOrigin(): Validators['origin'] {
  return setup().origin
}

/**
 * For wording hints only: `file#/$defs/x` in any schema file, or a local `#/$defs/x` when exactly
 * one file defines it (an error does not say which file it came from).
 */
function refResolver(): RefResolver {
  // Read again when a config first needs wording, not kept from setup: a valid config never needs them.
  let raw: Map<string, Schema & { $defs?: Record<string, Schema> }> | undefined
  return (ref) => {
    raw ??= new Map(readSchemaSet().files.map((f) => [f.rel, JSON.parse(f.text) as Schema & { $defs?: Record<string, Schema> }]))
    const [file, pointer = ''] = ref.split('#')
    const docs = file ? [raw.get(file.replace(/^(\.\.\/)+/, '')) ?? raw.get(`filters/${file}`)] : [...raw.values()]
    const def = /^\/\$defs\/([^/]+)$/.exec(pointer)?.[1]
    const hits = docs.flatMap((d) => {
      if (!d) return []
      if (pointer === '') return [d]
      return def !== undefined && d.$defs?.[def] ? [d.$defs[def]] : []
    })
    return hits.length === 1 ? hits[0] : undefined
  }
}

/** Validator for one filter type's config (used for per-route overrides). */
export function filterConfigValidator(type: string): ValidateFunction | undefined {
  return setup().filter(type)
}

export function validateDocs(docs: readonly LoadedDoc[], diags: Diagnostic[]): void {
  const { root, resolve } = setup()
  for (const d of docs) {
    if (!root(d.value)) for (const p of collapse(root.errors ?? [], resolve)) diags.push(toDiagnostic(d, p, []))
  }
}

/** Validates `value` (found at `at` inside `d`) with `fn`, reporting like validateDocs. */
export function validateAt(fn: ValidateFunction, value: unknown, d: LoadedDoc, at: (string | number)[], diags: Diagnostic[]): boolean {
  if (fn(value)) return true
  for (const p of collapse(fn.errors ?? [], setup().resolve)) diags.push(toDiagnostic(d, p, at))
  return false
}

function toDiagnostic(d: LoadedDoc, { error: e, message }: Problem, at: (string | number)[]): Diagnostic {
  const segs: (string | number)[] = [...at]
  for (const raw of e.instancePath.split('/').slice(1)) {
    const s = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    segs.push(/^\d+$/.test(s) ? Number(s) : s)
  }
  // An unknown key is reported at the key itself; everything else at its value (a missing key at
  // the map that lacks it).
  if (e.keyword === 'additionalProperties') {
    const key = String((e.params as { additionalProperty: string }).additionalProperty)
    return { code: 'SY_CFG_SCHEMA', source: d.source, ...positionOf(d, segs, key), path: formatPath([...segs, key]), message }
  }
  return { code: 'SY_CFG_SCHEMA', source: d.source, ...positionOf(d, segs), path: formatPath(segs), message }
}

const pluginValidators = new Map<string, ValidateFunction | string>()

/**
 * Validator for a plugin module's `schema` export, once per module URL (the URL carries the
 * file's content hash, so an edited module compiles anew). Its own Ajv, not strict: the schema is
 * the plugin author's, and keywords our schemas forbid are theirs to use. A schema that does not
 * compile comes back as the reason.
 */
export function pluginOptionsValidator(url: string, schema: object): ValidateFunction | string {
  let v = pluginValidators.get(url)
  if (v !== undefined) return v
  const Ajv2020 = ajv2020()
  const ajv = new Ajv2020({ ...AJV_OPTIONS, strict: false })
  try {
    v = ajv.compile(schema)
  } catch (e) {
    v = (e as Error).message
  }
  pluginValidators.set(url, v)
  return v
}
