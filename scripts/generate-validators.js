#!/usr/bin/env node
// Part of `npm run build`, after tsc: writes ajv's standalone code for every schema file to
// dist/src/compiler/schema-validators.cjs, stamped with the hash of the schema texts and the ajv
// setup it came from. src/compiler/schema-set.ts loads it when the stamp matches the schema files
// it reads, and compiles them with ajv itself otherwise (a plain `tsc`, an edited schema).
import { writeFileSync, renameSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const compilerDir = join(root, 'dist/src/compiler')
const { readSchemaSet, ajvWithSchemas, validatorName, SCHEMA_BASE, GENERATED_FILE } = await import(join(compilerDir, 'schema-set.js'))
const standaloneCode = createRequire(join(root, 'package.json'))('ajv/dist/standalone').default

const set = readSchemaSet()
const ajv = ajvWithSchemas(set, { code: { source: true } })
const refs = {}
for (const f of set.files) {
  const name = validatorName(f.rel)
  if (name) refs[name] = SCHEMA_BASE + f.rel
}
// Non-ASCII characters (a title's "→") escaped: V8 keeps a module's source text, as one byte per
// character only when every character fits in one.
const ascii = standaloneCode(ajv, refs).replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
const code = `${ascii}\nexports.schemasHash = ${JSON.stringify(set.hash)};\n`
const out = process.argv[2] ?? join(compilerDir, GENERATED_FILE) // a path argument: tests generate a copy of their own
writeFileSync(out + '.tmp', code)
renameSync(out + '.tmp', out) // a build that stops half-way leaves the old file or none, never a torn one
console.log(`generate-validators: ${Object.keys(refs).length} validators, ${(code.length / 1024).toFixed(0)} KiB → ${out}`)
