/**
 * The build's standalone validators (scripts/generate-validators.js) against ajv compiling the
 * same schemas at run time: the same verdict, the same errors and the same filled-in defaults on
 * every example and every invalid fixture, and a stale file is never used.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import type { ValidateFunction } from 'ajv'
import { SCHEMA_BASE, ajvWithSchemas, loadGenerated, readSchemaSet, validatorName } from '../../src/compiler/schema-set.js'
import { validatorOrigin } from '../../src/compiler/validate.js'
import { fixturesDir, repoRoot } from '../support/repo-root.js'

const set = readSchemaSet()
// Inside the package, so the module's require('ajv/dist/runtime/…') resolves as the build's does.
const dir = mkdtempSync(join(repoRoot, 'dist', 'sy-validators-'))
const file = join(dir, 'schema-validators.cjs')
execFileSync(process.execPath, [join(repoRoot, 'scripts/generate-validators.js'), file], { stdio: 'pipe' })
const generated = loadGenerated(set, file)
const ajv = ajvWithSchemas(set)
test.after(() => rmSync(dir, { recursive: true, force: true }))

function yamlFiles(root: string): string[] {
  return readdirSync(root).flatMap((n) => {
    const p = join(root, n)
    if (statSync(p).isDirectory()) return yamlFiles(p)
    return /\.ya?ml$/.test(n) ? [p] : []
  })
}

function documents(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).flatMap((d) => {
    if (!('errors' in d) || d.errors.length > 0) return []
    try {
      return [d.toJS()]
    } catch {
      return [] // a YAML mistake (an unset alias): the loader's to report, not the schema's
    }
  })
}

/** Runs `fn` on a copy (useDefaults fills in place) and returns what a caller sees. */
function outcome(fn: ValidateFunction, value: unknown) {
  const copy = structuredClone(value)
  const valid = fn(copy)
  return { valid, errors: fn.errors ?? null, filled: copy }
}

test('the generated module is found, and every schema file with a validator is in it', () => {
  assert.ok(generated, 'generate-validators.js wrote a module that loadGenerated accepts')
  for (const f of set.files) {
    const name = validatorName(f.rel)
    if (name) assert.equal(typeof generated[name], 'function', `${f.rel} → ${name}`)
  }
})

test('generated and run-time validators agree on every example and invalid fixture', () => {
  const root = ajv.getSchema(SCHEMA_BASE + 'switchyard.schema.json')!
  const paths = [...yamlFiles(join(repoRoot, 'examples')), ...yamlFiles(join(fixturesDir, 'invalid')), ...yamlFiles(join(fixturesDir, 'valid'))]
  let docs = 0
  let invalid = 0
  for (const p of paths) {
    for (const doc of documents(p)) {
      const a = outcome(generated!.root as ValidateFunction, doc)
      const b = outcome(root, doc)
      assert.deepStrictEqual(a, b, p)
      docs++
      if (!a.valid) invalid++
    }
  }
  // The comparison must have seen both verdicts, or it proves little.
  assert.ok(docs > 50 && invalid > 10, `${docs} documents, ${invalid} invalid`)
})

test('generated and run-time filter validators agree on empty, wrong and unknown-key configs', () => {
  for (const f of set.files) {
    const name = validatorName(f.rel)
    if (!name.startsWith('filter_')) continue
    const rt = ajv.getSchema(SCHEMA_BASE + f.rel)!
    for (const config of [{}, { bogus: 1 }, { enabled: 'yes' }, [], 3]) {
      assert.deepStrictEqual(outcome(generated![name] as ValidateFunction, config), outcome(rt, config), `${f.rel} on ${JSON.stringify(config)}`)
    }
  }
})

test('a module made from other schema texts is not used', () => {
  assert.equal(loadGenerated({ ...set, hash: '0'.repeat(64) }, file), undefined)
  assert.equal(loadGenerated(set, join(dir, 'absent.cjs')), undefined)
})

// `npm test` builds with `npm run build`, which generates the module: a newcomer's setup (and CI)
// must validate with it. A plain `tsc` build falls back to ajv, which the tests above hold equal.
test('npm test validates with the build-time validators', { skip: process.env.npm_lifecycle_event !== 'test' && 'run through npm test only' }, () => {
  assert.equal(validatorOrigin(), 'generated')
})
