/**
 * Schema validation: every loaded document against schemas/switchyard.schema.json (ajv, 2020-12),
 * with all errors mapped back to `source:line:col`. Fills schema defaults into the plain values.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Ajv2020Module from 'ajv/dist/2020.js'
import type { ErrorObject, ValidateFunction } from 'ajv'
import type { Diagnostic } from './diagnostics.js'
import { formatPath } from './diagnostics.js'
import { positionOf, type LoadedDoc } from './load.js'

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

let cached: { ajv: Ajv; root: ValidateFunction } | undefined

function setup() {
  if (cached) return cached
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, useDefaults: true, verbose: true, allowUnionTypes: true })
  const dir = findSchemasDir()
  const add = (rel: string) => {
    const schema = JSON.parse(readFileSync(join(dir, rel), 'utf8'))
    // Files use relative $refs so editors resolve them from disk; ajv needs absolute ids.
    ajv.addSchema({ ...schema, $id: SCHEMA_BASE + rel })
  }
  for (const f of readdirSync(dir)) if (f.endsWith('.schema.json')) add(f)
  for (const f of readdirSync(join(dir, 'filters'))) if (f.endsWith('.schema.json')) add('filters/' + f)
  const root = ajv.getSchema(SCHEMA_BASE + 'switchyard.schema.json')!
  cached = { ajv, root }
  return cached
}

/** Validator for one filter type's config (used for per-route overrides). */
export function filterConfigValidator(type: string): ValidateFunction | undefined {
  return setup().ajv.getSchema(SCHEMA_BASE + `filters/${type}.schema.json`)
}

export function validateDocs(docs: readonly LoadedDoc[], diags: Diagnostic[]): void {
  const { root } = setup()
  for (const d of docs) {
    if (!root(d.value)) for (const e of prune(root.errors ?? [])) diags.push(toDiagnostic(d, e, []))
  }
}

/** Validates `value` (found at `at` inside `d`) with `fn`, reporting like validateDocs. */
export function validateAt(fn: ValidateFunction, value: unknown, d: LoadedDoc, at: (string | number)[], diags: Diagnostic[]): boolean {
  if (fn(value)) return true
  for (const e of prune(fn.errors ?? [])) diags.push(toDiagnostic(d, e, at))
  return false
}

/**
 * ajv reports every failed branch of a oneOf / if-then; keep the one line a person needs.
 */
function prune(errors: ErrorObject[]): ErrorObject[] {
  const oneOfAt = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath))
  return errors.filter((e) => {
    if (e.keyword === 'if') return false
    if (e.keyword === 'required' && oneOfAt.has(e.instancePath) && e.schemaPath.includes('/oneOf/')) return false
    return true
  })
}

function toDiagnostic(d: LoadedDoc, e: ErrorObject, at: (string | number)[]): Diagnostic {
  const segs: (string | number)[] = [...at]
  for (const raw of e.instancePath.split('/').slice(1)) {
    const s = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    segs.push(/^\d+$/.test(s) ? Number(s) : s)
  }
  let message = e.message ?? 'is invalid'
  let pos: { line: number; col: number }
  let path = formatPath(segs)
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty)
      const allowed = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {})
      message = `unknown property '${key}'` + (allowed.length ? ` (expected one of: ${allowed.join(', ')})` : '')
      pos = positionOf(d, segs, key)
      path = formatPath([...segs, key])
      break
    }
    case 'required': {
      const prop = (e.params as { missingProperty: string }).missingProperty
      message = `missing required property '${prop}'`
      pos = positionOf(d, segs)
      break
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues
      message = `must be one of: ${allowed.map((v) => JSON.stringify(v)).join(', ')} (got ${JSON.stringify(e.data)})`
      pos = positionOf(d, segs)
      break
    }
    case 'oneOf': {
      const branches = ((e.parentSchema as { oneOf?: { required?: string[] }[] })?.oneOf ?? []).map((b) => b.required?.[0])
      message = branches.every(Boolean) ? `must have exactly one of: ${branches.join(', ')}` : 'must match exactly one alternative'
      pos = positionOf(d, segs)
      break
    }
    case 'pattern':
      message = `${JSON.stringify(e.data)} ${patternHint(e)}`
      pos = positionOf(d, segs)
      break
    default:
      pos = positionOf(d, segs)
  }
  return { code: 'SY_CFG_SCHEMA', source: d.source, line: pos.line, col: pos.col, path, message }
}

function patternHint(e: ErrorObject): string {
  const ref = String((e.parentSchema as { description?: string })?.description ?? '')
  return ref ? `is not valid: ${ref}` : `must match pattern ${(e.params as { pattern: string }).pattern}`
}
