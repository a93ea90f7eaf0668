/**
 * The schemas carry the user docs (yaml-language-server shows them on hover), so every schema file
 * has its `$id`, every property a description that states its default, and every enum value is
 * explained where it is offered.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { SCHEMA_BASE } from '../../src/compiler/validate.js'
import { repoRoot } from '../support/repo-root.js'

type Node = { [k: string]: unknown }

const dir = join(repoRoot, 'schemas')
const files = [
  ...readdirSync(dir).filter((f) => f.endsWith('.schema.json')),
  ...readdirSync(join(dir, 'filters')).filter((f) => f.endsWith('.schema.json')).map((f) => `filters/${f}`),
].sort()
const schemas = files.map((rel) => ({ rel, schema: JSON.parse(readFileSync(join(dir, rel), 'utf8')) as Node }))

// `if` is a condition and `then`/`else` refine properties documented where they are declared.
const SKIP = new Set(['if', 'then', 'else', 'not'])

interface Visit {
  readonly where: string
  readonly node: Node
  /** The nearest description around the node: its own, else its property's or definition's. */
  readonly context: string | undefined
}

/** Every subschema of `node`, with what a reader would see as its description. */
function* subschemas(node: unknown, where: string, context: string | undefined): Generator<Visit & { kind?: 'property' | 'def'; name?: string; required?: boolean }> {
  if (typeof node !== 'object' || node === null) return
  const n = node as Node
  const own = typeof n.description === 'string' ? n.description : context
  for (const [k, v] of Object.entries(n)) {
    if (SKIP.has(k) || typeof v !== 'object' || v === null) continue
    if (k === 'properties' || k === '$defs') {
      const required = Array.isArray(n.required) ? (n.required as string[]) : []
      for (const [name, p] of Object.entries(v as Node)) {
        const child = `${where}/${k}/${name}`
        const pd = typeof (p as Node).description === 'string' ? ((p as Node).description as string) : undefined
        yield { where: child, node: p as Node, context: pd, kind: k === 'properties' ? 'property' : 'def', name, required: required.includes(name) }
        yield* subschemas(p, child, pd ?? own)
      }
    } else if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) {
        if (typeof item !== 'object' || item === null) continue
        yield { where: `${where}/${k}/${i}`, node: item as Node, context: own }
        yield* subschemas(item, `${where}/${k}/${i}`, own)
      }
    } else {
      yield { where: `${where}/${k}`, node: v as Node, context: own }
      yield* subschemas(v, `${where}/${k}`, own)
    }
  }
}

function all() {
  return schemas.flatMap(({ rel, schema }) => [...subschemas(schema, `${rel}#`, schema.description as string | undefined)])
}

test('every schema file has a $id: the schema base URL plus its path under schemas/', () => {
  const wrong = schemas.filter(({ rel, schema }) => schema.$id !== SCHEMA_BASE + rel).map(({ rel, schema }) => `${rel}: ${String(schema.$id)}`)
  assert.deepStrictEqual(wrong, [])
})

test('every schema file has a title and a description', () => {
  const missing = schemas.filter(({ schema }) => typeof schema.title !== 'string' || typeof schema.description !== 'string').map(({ rel }) => rel)
  assert.deepStrictEqual(missing, [])
})

test('every property and every shared definition has its own description', () => {
  const missing = all().filter((v) => v.kind && typeof v.node.description !== 'string').map((v) => v.where)
  assert.deepStrictEqual(missing, [])
})

test('every optional property states its default, and the value of a scalar default', () => {
  const wrong: string[] = []
  for (const v of all()) {
    if (v.kind !== 'property' || v.required || typeof v.node.description !== 'string') continue
    const d = v.node.description
    if (!/default/i.test(d)) wrong.push(`${v.where}: description does not state the default`)
    const def = v.node.default
    if (def !== undefined && typeof def !== 'object' && !d.includes(String(def))) wrong.push(`${v.where}: description does not show the default ${JSON.stringify(def)}`)
  }
  assert.deepStrictEqual(wrong, [])
})

test('every enum value is explained, in backticks, in the description where it is offered', () => {
  const unexplained: string[] = []
  for (const v of all()) {
    if (!Array.isArray(v.node.enum)) continue
    const text = [v.node.description, v.context].filter((s): s is string => typeof s === 'string').join('\n')
    for (const value of v.node.enum) if (!text.includes('`' + String(value) + '`')) unexplained.push(`${v.where}: ${JSON.stringify(value)}`)
  }
  assert.deepStrictEqual(unexplained, [])
})
