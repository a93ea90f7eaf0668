/**
 * Config sources as texts: a file, or every YAML / JSON file of a directory. Apart from load.ts
 * (which parses them) so that what only reads files — the file source on the main thread — does
 * not load the YAML parser and the rest of the compiler.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

export interface SourceText {
  /** File path or key, used in diagnostics. */
  readonly name: string
  readonly text: string
  /** Directory that `${file:relative}` references are resolved against. */
  readonly baseDir?: string
}

const YAML_FILE = /\.(ya?ml|json)$/i

/** Reads a file or every *.yaml / *.yml / *.json file of a directory (sorted, recursive). */
export function readPathSources(path: string): SourceText[] {
  const abs = resolve(path)
  const st = statSync(abs)
  if (!st.isDirectory()) return [{ name: path, text: readFileSync(abs, 'utf8'), baseDir: resolve(abs, '..') }]
  const out: SourceText[] = []
  const walk = (dir: string, shown: string) => {
    for (const entry of readdirSync(dir).sort()) {
      if (entry.startsWith('.')) continue
      const full = join(dir, entry)
      const shownPath = join(shown, entry)
      if (statSync(full).isDirectory()) walk(full, shownPath)
      else if (YAML_FILE.test(entry)) out.push({ name: shownPath, text: readFileSync(full, 'utf8'), baseDir: dir })
    }
  }
  walk(abs, path)
  return out
}
