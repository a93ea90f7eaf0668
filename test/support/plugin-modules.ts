/**
 * Plugin modules for tests: written to a temp dir and named by the content-hashed URL the
 * compiler would give them (resolve/plugins.ts), so the runtime's loader accepts them.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

export function pluginDir(): string {
  return mkdtempSync(join(tmpdir(), 'switchyard-plugins-'))
}

/** Writes `source` as `dir/name` and returns the URL a snapshot's IR would carry for it. */
export function writePlugin(dir: string, name: string, source: string): string {
  const file = join(dir, name)
  writeFileSync(file, source)
  return pluginUrl(file)
}

export function pluginUrl(file: string): string {
  const hash = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16)
  return `${pathToFileURL(file).href}?v=${hash}`
}
