/**
 * Issue 13, package: the pinned uWebSockets.js build ships native binaries for some Node majors
 * only; on any other it runs its slow JS fallback. `engines` must admit only majors it ships
 * (and nothing older than undici's 20.18.1).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../support/repo-root.js'

/** NODE_MODULE_VERSION → Node major (nodejs.org/about/previous-releases). */
const ABI_MAJOR: Record<string, number> = { 93: 16, 108: 18, 115: 20, 127: 22, 131: 23, 137: 24, 141: 25 }

const parse = (v: string) => v.replace(/^v/, '').split('.').map(Number) as [number, number, number]
const cmp = (a: string, b: string) => {
  const [x, y] = [parse(a), parse(b)]
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0)
  return 0
}

/** npm's range syntax as far as engines uses it: `||` of space-separated comparators. */
function satisfies(version: string, range: string): boolean {
  return range.split('||').some((part) =>
    part.trim().split(/\s+/).every((c) => {
      const m = /^(>=|<=|>|<|=)?\s*v?(\d+(?:\.\d+){0,2})$/.exec(c)
      assert.ok(m, `comparator '${c}' not understood in '${range}'`)
      const d = cmp(version, m[2])
      return { '>=': d >= 0, '<=': d <= 0, '>': d > 0, '<': d < 0, '=': d === 0, '': d === 0 }[m[1] ?? '']!
    }),
  )
}

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } }
const range = pkg.engines.node

test('engines admits only Node majors that uWebSockets.js ships a native binary for', () => {
  const binaries = readdirSync(join(repoRoot, 'node_modules', 'uWebSockets.js', 'binaries'))
  const shipped = new Set(
    binaries.flatMap((f) => {
      const m = new RegExp(`^uws_${process.platform}_${process.arch}_(\\d+)\\.node$`).exec(f)
      return m ? [ABI_MAJOR[m[1]]] : []
    }),
  )
  assert.ok(shipped.size > 0, binaries.join(', '))
  const admitted = [16, 18, 20, 21, 22, 23, 24, 25, 26].filter((major) => satisfies(`${major}.99.0`, range) || satisfies(`${major}.0.0`, range))
  assert.deepStrictEqual(admitted.filter((m) => !shipped.has(m)), [], `engines '${range}' admits Node ${admitted.join(', ')}; native binaries exist for ${[...shipped].join(', ')}`)
})

test('engines keeps undici\'s floor and admits the Node running this test', () => {
  assert.equal(satisfies('20.18.0', range), false, range)
  assert.equal(satisfies('20.18.1', range), true, range)
  assert.equal(satisfies(process.version, range), true, `${process.version} vs ${range}`)
})
