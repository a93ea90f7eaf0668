/**
 * The schema files and how they become validators, in one place for the two ways that happens:
 * at build time, when scripts/generate-validators.js writes ajv's standalone code for them next
 * to this module (schema-validators.cjs), and at run time, when that file is missing or was made
 * from other schema texts (a plain `tsc` build, an edited schema) and ajv compiles them instead.
 *
 * Why generate: compiling these schemas with ajv takes ≈0.3 s and leaves the main isolate ≈14 MB
 * larger (ajv itself, its code generation's garbage), at the moment the workers start too; the
 * generated module loads in ≈20 ms. See bench/SOAK.md.
 */
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ValidateFunction } from 'ajv'

export const SCHEMA_BASE = 'https://schemas.switchyard.local/'

/** The options every validator of ours is compiled with; part of the generated file's hash. */
export const AJV_OPTIONS = { allErrors: true, strict: true, strictRequired: false, useDefaults: true, verbose: true, allowUnionTypes: true } as const

export interface SchemaFile {
  /** Path under schemas/, e.g. `filters/cache.schema.json`; the schema's `$id` is SCHEMA_BASE + rel. */
  readonly rel: string
  readonly text: string
}

export interface SchemaSet {
  readonly files: readonly SchemaFile[]
  /** Identifies the schema texts and the ajv setup a generated module was made from. */
  readonly hash: string
}

const require = createRequire(import.meta.url)
const here = dirname(fileURLToPath(import.meta.url))

/** schemas/ lives at the package root: ../../schemas from src/compiler, ../../../schemas from dist/src/compiler. */
function findSchemasDir(): string {
  for (const up of ['../..', '../../..']) {
    const dir = join(here, up, 'schemas')
    try {
      readFileSync(join(dir, 'switchyard.schema.json'))
      return dir
    } catch {}
  }
  throw new Error('schemas/ directory not found')
}

export function readSchemaSet(): SchemaSet {
  const dir = findSchemasDir()
  const files: SchemaFile[] = []
  for (const sub of ['', 'filters/']) {
    for (const f of readdirSync(join(dir, sub)).sort()) if (f.endsWith('.schema.json')) files.push({ rel: sub + f, text: readFileSync(join(dir, sub, f), 'utf8') })
  }
  const h = createHash('sha256').update(ajvVersion()).update(JSON.stringify(AJV_OPTIONS))
  for (const f of files) h.update(`\0${f.rel}\0${f.text}`)
  return { files, hash: h.digest('hex') }
}

function ajvVersion(): string {
  return (require('ajv/package.json') as { version: string }).version
}

/** The name a filter type's validator has in the generated module (`filters/cache.schema.json` → `filter_cache`). */
export function validatorName(rel: string): string {
  if (rel === 'switchyard.schema.json') return 'root'
  const m = /^filters\/(.+)\.schema\.json$/.exec(rel)
  return m ? 'filter_' + m[1]!.replace(/[^A-Za-z0-9_]/g, '_') : ''
}

type AjvClass = new (opts: object) => {
  addSchema(schema: object): unknown
  getSchema(id: string): ValidateFunction | undefined
  compile(schema: object): ValidateFunction
}

/** ajv's 2020-12 class, loaded on first use: a gateway with generated validators and no plugin schemas never loads ajv. */
export function ajv2020(): AjvClass {
  const m = require('ajv/dist/2020.js') as { default: AjvClass }
  return m.default
}

/** An ajv instance holding every schema file, for compiling at run time or generating standalone code. */
export function ajvWithSchemas(set: SchemaSet, extra: object = {}): InstanceType<AjvClass> {
  const Ajv2020 = ajv2020()
  const ajv = new Ajv2020({ ...AJV_OPTIONS, ...extra })
  // Each file's `$id` is SCHEMA_BASE + its path (test/compiler/schema-docs.test.ts checks it); set
  // here too, so a file that lacks one still resolves.
  for (const f of set.files) ajv.addSchema({ ...(withoutProse(JSON.parse(f.text)) as object), $id: SCHEMA_BASE + f.rel })
  return ajv
}

/**
 * Annotation keywords that validate nothing. A validator with `verbose` keeps every schema
 * object it was compiled from (errors point at them), so the descriptions (most of the schema
 * files' bytes, written for docs/config-reference.md and editors) would otherwise stay in memory
 * for the life of the process. `title` stays: the error wording names things by it.
 */
const PROSE = new Set(['description', 'examples', '$comment'])
/** Keywords whose value maps names (property names, not keywords) to subschemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas', 'dependentRequired'])
/** Keywords whose value is data, not schema: never walked. */
const DATA = new Set(['default', 'const', 'enum'])

export function withoutProse(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutProse)
  if (schema === null || typeof schema !== 'object') return schema
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) {
    if (PROSE.has(k)) continue
    if (DATA.has(k)) out[k] = v
    else if (SCHEMA_MAPS.has(k) && v !== null && typeof v === 'object') out[k] = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, withoutProse(sub)]))
    else out[k] = withoutProse(v)
  }
  return out
}

/** What the generated module exports; `undefined` when it is absent or stale. */
export interface GeneratedValidators {
  readonly schemasHash: string
  readonly [name: string]: ValidateFunction | string
}

export const GENERATED_FILE = 'schema-validators.cjs'

export function loadGenerated(set: SchemaSet, file = join(here, GENERATED_FILE)): GeneratedValidators | undefined {
  let m: GeneratedValidators
  try {
    m = require(file) as GeneratedValidators
  } catch {
    return undefined
  }
  return m.schemasHash === set.hash ? m : undefined
}
