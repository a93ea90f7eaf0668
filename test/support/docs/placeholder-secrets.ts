/**
 * Shown configs reference secrets the test machine does not have. For a compile check, every
 * `${env:NAME}` gets a placeholder value and every `${file:path}` is pointed at a temporary file
 * holding one, so the compiler still resolves (and type-checks) each reference.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Placeholders {
  /** `text` with each `${file:…}` pointing at a temporary file. */
  readonly text: string
  readonly env: Record<string, string>
  /** Removes the temporary files. */
  readonly dispose: () => void
}

export function withPlaceholderSecrets(text: string): Placeholders {
  const env: Record<string, string> = {}
  for (const m of text.matchAll(/\$\{env:([^}]+)\}/g)) env[m[1]] = `placeholder-${m[1]}`
  let dir: string | undefined
  let n = 0
  const replaced = text.replace(/\$\{file:([^}]+)\}/g, () => {
    dir ??= mkdtempSync(join(tmpdir(), 'switchyard-doc-secrets-'))
    const file = join(dir, `secret-${++n}.txt`)
    writeFileSync(file, `placeholder-file-secret-${n}\n`)
    return `\${file:${file}}`
  })
  return { text: replaced, env, dispose: () => dir && rmSync(dir, { recursive: true, force: true }) }
}
