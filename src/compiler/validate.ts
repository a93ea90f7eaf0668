/**
 * Schema validation: every loaded document against schemas/switchyard.schema.json (ajv, 2020-12),
 * with all errors mapped back to `source:line:col` (worded by schema-errors.ts). Fills schema
 * defaults into the plain values.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Ajv2020Module from 'ajv/dist/2020.js'
import type { ValidateFunction } from 'ajv'
import type { Diagnostic } from './diagnostics.js'
import { formatPath } from './diagnostics.js'
import { positionOf, type LoadedDoc } from './load.js'
import { collapse, type Problem, type RefResolver, type Schema } from './schema-errors.js'

// ajv ships CJS; under NodeNext the class sits on `.default`.
const Ajv2020 = Ajv2020Module.default.default ?? Ajv2020Module.default
type Ajv = InstanceType<typeof Ajv2020>

/** schemas/ lives at the package root: ../../schemas from src/compiler, ../../../schemas from dist/src/compiler. */
function findSchemasDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const up of ['../..', '../../..']) {
    const dir = join(here, up, 'schemas')
    try {
      readFileSync(join(dir, 'switchyard.schema.json'))
      return dir
    } catch {}
  }
  throw new Error('schemas/ directory not found')
}

export const SCHEMA_BASE = 'https://schemas.switchyard.local/'

let cached: { ajv: Ajv; root: ValidateFunction; resolve: RefResolver } | undefined

function setup() {
  if (cached) return cached
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, useDefaults: true, verbose: true, allowUnionTypes: true })
  const dir = findSchemasDir()
  const raw = new Map<string, Schema & { $defs?: Record<string, Schema> }>()
  const add = (rel: string) => {
    const schema = JSON.parse(readFileSync(join(dir, rel), 'utf8'))
    // Each file's `$id` is SCHEMA_BASE + its path (test/compiler/schema-docs.test.ts checks it); set
    // here too, so a file that lacks one still resolves.
    ajv.addSchema({ ...schema, $id: SCHEMA_BASE + rel })
    raw.set(rel, schema)
  }
  for (const f of readdirSync(dir)) if (f.endsWith('.schema.json')) add(f)
  for (const f of readdirSync(join(dir, 'filters'))) if (f.endsWith('.schema.json')) add('filters/' + f)
  const root = ajv.getSchema(SCHEMA_BASE + 'switchyard.schema.json')!
  cached = { ajv, root, resolve: refResolver(raw) }
  return cached
}

/**
 * For wording hints only: `file#/$defs/x` in any schema file, or a local `#/$defs/x` when exactly
 * one file defines it (an error does not say which file it came from).
 */
function refResolver(raw: ReadonlyMap<string, Schema & { $defs?: Record<string, Schema> }>): RefResolver {
  return (ref) => {
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
  return setup().ajv.getSchema(SCHEMA_BASE + `filters/${type}.schema.json`)
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
  const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: true, verbose: true, allowUnionTypes: true })
  try {
    v = ajv.compile(schema)
  } catch (e) {
    v = (e as Error).message
  }
  pluginValidators.set(url, v)
  return v
}
