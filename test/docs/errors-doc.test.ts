/**
 * docs/errors.md is the error catalogs, rendered (test/support/docs/errors-doc.ts): it lists every
 * code the source raises, and says about each what the catalog says.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../support/repo-root.js'
import { renderErrorsDoc } from '../support/docs/errors-doc.js'

const DOC = join(repoRoot, 'docs', 'errors.md')

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) sources(p, out)
    else if (name.endsWith('.ts')) out.push(p)
  }
  return out
}

test('docs/errors.md is what the catalogs render', () => {
  const rendered = renderErrorsDoc()
  if (process.env.SWITCHYARD_WRITE_DOCS === '1') writeFileSync(DOC, rendered)
  assert.equal(readFileSync(DOC, 'utf8'), rendered, 'docs/errors.md is stale: run SWITCHYARD_WRITE_DOCS=1 node scripts/run-tests.js errors-doc')
})

test('every SY_ code in src/ is listed in docs/errors.md', () => {
  const doc = readFileSync(DOC, 'utf8')
  const listed = new Set([...doc.matchAll(/^\| `(SY_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]))
  const used = new Set(sources(join(repoRoot, 'src')).flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\bSY_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0])))
  assert.deepStrictEqual([...used].filter((c) => !listed.has(c)).sort(), [])
})
