#!/usr/bin/env node
// Builds every examples/**/*.wat into the .wasm beside it with wabt (a devDependency), so the
// checked-in modules always come from their source (test/compiler/wasm/examples-wasm.test.ts
// fails when one differs from what its .wat builds to).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import wabtInit from 'wabt'

const root = fileURLToPath(new URL('../examples/', import.meta.url))
const wabt = await wabtInit()

function* watFiles(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) yield* watFiles(path)
    else if (name.endsWith('.wat')) yield path
  }
}

for (const wat of watFiles(root)) {
  const m = wabt.parseWat(wat, readFileSync(wat, 'utf8'))
  const out = wat.replace(/\.wat$/, '.wasm')
  writeFileSync(out, m.toBinary({}).buffer)
  m.destroy()
  console.log(`built ${out}`)
}
