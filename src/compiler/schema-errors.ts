/**
 * ajv's raw errors → the problems a person reads: one per mistake, worded from the error's data and
 * schema (what was given, what was expected, the closest valid name).
 *
 * ajv reports every failed branch of an anyOf / oneOf, so one typo in `retry_on` comes back as "not
 * in the enum", "not an integer" and "no branch matched". collapse() folds each such cascade into one
 * problem: the alternatives listed when they are plain values, else the errors of the one branch the
 * value was evidently written for.
 */
import type { ErrorObject } from 'ajv'

/** The parts of a JSON Schema the wording looks at. */
export interface Schema {
  readonly $ref?: string
  readonly title?: string
  readonly type?: string | readonly string[]
  readonly enum?: readonly unknown[]
  readonly const?: unknown
  readonly minimum?: number
  readonly maximum?: number
  readonly pattern?: string
  readonly properties?: Readonly<Record<string, Schema>>
  readonly required?: readonly string[]
  readonly additionalProperties?: boolean | Schema
  readonly minProperties?: number
  readonly maxProperties?: number
  readonly anyOf?: readonly Schema[]
  readonly oneOf?: readonly Schema[]
}

/** Looks up a `$ref` as written in a schema; undefined when it cannot tell which schema is meant. */
export type RefResolver = (ref: string) => Schema | undefined

export interface Problem {
  /** Where it is: `instancePath`, plus the key for `additionalProperties`. */
  readonly error: ErrorObject
  readonly message: string
}

/** The shared `$defs` of common.schema.json, as a person would name them. */
const COMMON_DEFS: Readonly<Record<string, { expected: string; hint?: string }>> = {
  duration: { expected: 'a duration such as 30s or 250ms', hint: 'units: ms, s, m, h' },
  size: { expected: 'a size such as 1mb or 512kb', hint: 'units: b, kb, mb, gb' },
  name: { expected: "a name of letters, digits, '_', '.' and '-' (starting with a letter or digit, at most 128 characters)" },
  headerName: { expected: 'an HTTP header name such as x-user-id (letters, digits and !#$%&\'*+.^_`|~-)' },
}
// ajv's schemaPath of an error inside a `$ref`'d common definition (inlined or not): `…common.schema.json#/$defs/duration/type`.
const COMMON_DEF_PATH = /(?:^|\/)common\.schema\.json#\/\$defs\/([A-Za-z]+)(?:\/|$)/

interface Item {
  readonly error: ErrorObject
  readonly message?: string
}

export function collapse(errors: readonly ErrorObject[], resolve: RefResolver): Problem[] {
  const out: Item[] = []
  for (const e of errors) {
    // An if/then reports the `then` errors themselves, then "must match then": the latter says nothing.
    if (e.keyword === 'if') continue
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') out.push(...foldAlternatives(e, takeBranchErrors(out, e), resolve))
    else out.push({ error: e })
  }
  return out.map((i) => ({ error: i.error, message: i.message ?? messageOf(i.error, resolve) }))
}

function branchesOf(e: ErrorObject): readonly Schema[] {
  const parent = e.parentSchema as Schema | undefined
  return (e.keyword === 'oneOf' ? parent?.oneOf : parent?.anyOf) ?? []
}

/**
 * ajv pushes a branch's errors just before the anyOf/oneOf error itself, so they are the run of
 * errors right before it, at or below its value, whose schema path lies inside the alternatives (or
 * anywhere, when a branch is a `$ref`: its errors carry the referenced schema's path).
 */
function takeBranchErrors(out: Item[], alt: ErrorObject): Item[] {
  const refs = branchesOf(alt).some((b) => b.$ref !== undefined)
  let i = out.length
  while (i > 0) {
    const m = out[i - 1].error
    const below = m.instancePath === alt.instancePath || m.instancePath.startsWith(alt.instancePath + '/')
    if (!below || !(refs || m.schemaPath.startsWith(alt.schemaPath + '/'))) break
    i--
  }
  return out.splice(i)
}

function branchIndex(m: ErrorObject, alt: ErrorObject): number {
  const rest = m.schemaPath.startsWith(alt.schemaPath + '/') ? m.schemaPath.slice(alt.schemaPath.length + 1) : ''
  const n = /^(\d+)(\/|$)/.exec(rest)
  if (n) return Number(n[1])
  return branchesOf(alt).findIndex((b) => b.$ref !== undefined && m.schemaPath.startsWith(b.$ref))
}

function foldAlternatives(alt: ErrorObject, members: Item[], resolve: RefResolver): Item[] {
  const branches = branchesOf(alt)
  const got = alt.data
  // `oneOf: [{required: [a]}, {required: [b]}]`: "exactly one of these keys".
  const keys = branches.map((b) => (Object.keys(b).every((k) => k === 'required') && b.required?.length === 1 ? b.required[0] : undefined))
  if (branches.length > 0 && keys.every((k) => k !== undefined)) {
    const present = isMap(got) ? keys.filter((k) => k! in got) : []
    return [{ error: alt, message: `must have exactly one of: ${keys.join(', ')} (got ${present.length ? present.join(' and ') : 'none'})` }]
  }
  if (alt.keyword === 'oneOf' && (alt.params as { passingSchemas?: number[] | null }).passingSchemas) {
    return [{ error: alt, message: `matches more than one of: ${branches.map((b) => expected(b, resolve)).join('; ')}` }]
  }
  const listAll = (): Item => ({ error: alt, message: `must be ${orList(branches.map((b) => expected(b, resolve)))} (got ${show(got)}${suggestion(got, branches.flatMap((b) => b.enum ?? []))})` })
  // Plain values (an enum, a number, a pattern): one line that lists every form allowed. A map is
  // never a plain value: its alternatives (`tenant` or `{ header }`) are sorted out by type below.
  if (!isMap(got) && members.every((m) => m.error.instancePath === alt.instancePath)) return [listAll()]
  // Structured alternatives: keep the branch of the right type, the one whose errors got deepest.
  const byBranch = new Map<number, Item[]>()
  for (const m of members) {
    const i = branchIndex(m.error, alt)
    byBranch.set(i, [...(byBranch.get(i) ?? []), m])
  }
  const fitting = [...byBranch.entries()].filter(([i, list]) => i >= 0 && !list.some((m) => wrongType(m.error, alt)))
  if (fitting.length === 0) return [listAll()]
  const depth = (list: Item[]) => Math.max(...list.map((m) => m.error.instancePath.split('/').length))
  fitting.sort(([, a], [, b]) => depth(b) - depth(a) || a.length - b.length)
  return fitting[0][1]
}

/** The branch rejects the value's type itself, not something inside it. */
function wrongType(m: ErrorObject, alt: ErrorObject): boolean {
  if (m.instancePath !== alt.instancePath) return false
  if (m.keyword === 'type') return true
  if (m.keyword === 'enum') return !(m.params as { allowedValues: unknown[] }).allowedValues.some((v) => typeof v === typeof alt.data)
  if (m.keyword === 'const') return typeof (m.params as { allowedValue: unknown }).allowedValue !== typeof alt.data
  return false
}

/** What one schema accepts, as a noun phrase: `one of: "a", "b"`, `an integer from 400 to 599`. */
function expected(s: Schema, resolve: RefResolver): string {
  if (s.title) return s.title
  if (s.$ref !== undefined) {
    const common = COMMON_DEFS[COMMON_DEF_PATH.exec(s.$ref)?.[1] ?? '']
    if (common) return common.expected
    const target = resolve(s.$ref)
    return target ? expected(target, resolve) : `what ${s.$ref} describes`
  }
  if (s.enum) return `one of: ${s.enum.map(show).join(', ')}`
  if ('const' in s) return show(s.const)
  const type = Array.isArray(s.type) ? s.type[0] : s.type
  if (type === 'integer' || type === 'number') {
    const noun = type === 'integer' ? 'an integer' : 'a number'
    if (s.minimum !== undefined && s.maximum !== undefined) return `${noun} from ${s.minimum} to ${s.maximum}`
    if (s.minimum !== undefined) return `${noun} of at least ${s.minimum}`
    if (s.maximum !== undefined) return `${noun} of at most ${s.maximum}`
    return noun
  }
  if (type === 'string') return s.pattern ? `a string matching ${s.pattern}` : 'a string'
  if (type === 'object') return 'a map'
  if (type === 'array') return 'a list'
  if (type === 'boolean') return 'true or false'
  return 'another form'
}

function messageOf(e: ErrorObject, resolve: RefResolver): string {
  const parent = e.parentSchema as Schema | undefined
  const common = COMMON_DEFS[COMMON_DEF_PATH.exec(e.schemaPath)?.[1] ?? '']
  if (common && ['type', 'pattern', 'maxLength'].includes(e.keyword)) {
    return `must be ${common.expected} (got ${show(e.data)}${common.hint ? `; ${common.hint}` : ''})`
  }
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty)
      const props = parent?.properties ?? {}
      const value = isMap(e.data) ? e.data[key] : undefined
      const near = closest(key, Object.keys(props), (c) => fits(value, props[c], resolve))
      const allowed = Object.keys(props)
      return `unknown property '${key}'` + (near ? `, did you mean '${near}'?` : '') + (allowed.length ? ` (expected one of: ${allowed.join(', ')})` : '')
    }
    case 'required':
      return `missing required property '${(e.params as { missingProperty: string }).missingProperty}'`
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues
      return `must be one of: ${allowed.map(show).join(', ')} (got ${show(e.data)}${suggestion(e.data, allowed)})`
    }
    case 'const':
      return `must be ${show((e.params as { allowedValue: unknown }).allowedValue)} (got ${show(e.data)})`
    case 'pattern':
      return `must match the pattern ${(e.params as { pattern: string }).pattern} (got ${show(e.data)})`
    case 'minProperties':
    case 'maxProperties': {
      // `{ exact | prefix | regex }` written as min/maxProperties: name the choice.
      const required = parent?.required ?? []
      const choices = Object.keys(parent?.properties ?? {}).filter((k) => !required.includes(k))
      if (parent?.maxProperties !== required.length + 1 || parent.minProperties !== required.length + 1) return e.message ?? 'is invalid'
      const present = isMap(e.data) ? Object.keys(e.data).filter((k) => choices.includes(k)) : []
      const also = required.length ? `${required.join(', ')} and ` : ''
      return `must have ${also}exactly one of: ${choices.join(', ')} (got ${present.length ? present.join(' and ') : 'none'})`
    }
    default:
      return e.message ?? 'is invalid'
  }
}

/** Whether `value` could be meant for the property schema `s` (its keys are all known there). */
function fits(value: unknown, s: Schema | undefined, resolve: RefResolver): boolean {
  const target = s?.$ref !== undefined ? resolve(s.$ref) : s
  if (!isMap(value) || !target?.properties || target.additionalProperties !== false) return true
  return Object.keys(value).every((k) => k in target.properties!)
}

function suggestion(got: unknown, allowed: readonly unknown[]): string {
  if (typeof got !== 'string') return ''
  const near = closest(got, allowed.filter((v): v is string => typeof v === 'string'))
  return near ? `; did you mean ${show(near)}?` : ''
}

/** The candidate a typo was most likely meant as: a few edits away, or containing the word. */
export function closest(word: string, candidates: readonly string[], accept: (c: string) => boolean = () => true): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-\s]/g, '_')
  const w = norm(word)
  let best: string | undefined
  let bestScore = Infinity
  for (const c of candidates) {
    const n = norm(c)
    const d = editDistance(w, n)
    // Containment counts when the shorter is at least half the longer: `circuit_breaker` in
    // `endpoint_circuit_breaker`, but not `name` in `model_name`.
    const [short, long] = w.length <= n.length ? [w, n] : [n, w]
    const contains = short.length >= 4 && short.length * 2 >= long.length && long.includes(short)
    const score = d <= Math.max(1, Math.floor(w.length / 4)) ? d : contains ? 10 + long.length - short.length : Infinity
    if (score < bestScore && accept(c)) [best, bestScore] = [c, score]
  }
  return best
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[b.length]
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? 'valid') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`
}

/** A value as the config author wrote it: strings quoted, maps and lists by kind. */
function show(v: unknown): string {
  if (Array.isArray(v)) return 'a list'
  if (isMap(v)) return 'a map'
  return v === undefined ? 'nothing' : JSON.stringify(v)
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
