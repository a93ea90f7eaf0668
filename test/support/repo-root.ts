/** The repository root, found from this file whether it runs from test/ or dist/test/. */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'schemas', 'switchyard.schema.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('repository root not found')
    dir = up
  }
  return dir
}

export const repoRoot = findRoot()
export const fixturesDir = join(repoRoot, 'test', 'fixtures')
