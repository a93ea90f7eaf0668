/**
 * The test tree's own rules (docs/testing.md): unit tests mirror src/ folder by folder, and every
 * shared helper lives in test/support/, so a new test finds its servers and builders in one place.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { repoRoot } from './support/repo-root.js'

const TEST = join(repoRoot, 'test')

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) files(p, out)
    else out.push(relative(TEST, p))
  }
  return out
}

test('every folder of unit tests has its counterpart in src/', () => {
  const unmatched: string[] = []
  for (const top of ['commands', 'compiler', 'runtime', 'control', 'shared']) {
    const dirs = new Set(files(join(TEST, top)).map((f) => f.slice(0, f.lastIndexOf('/'))))
    for (const d of dirs) if (!existsSync(join(repoRoot, 'src', d))) unmatched.push(`test/${d}`)
  }
  assert.deepStrictEqual(unmatched, [])
})

test('TypeScript outside test/support/ is test files only', () => {
  const helpers = files(TEST).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('support/') && !f.startsWith('fixtures/'))
  assert.deepStrictEqual(helpers, [])
})
