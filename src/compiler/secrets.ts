/**
 * `${env:NAME}` and `${file:path}` references inside config strings. Resolution failures name
 * the reference, never a value.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

const REF = /\$\{(env|file):([^}]*)\}/g

export interface SecretContext {
  readonly baseDir: string
  readonly env: NodeJS.ProcessEnv
}

/** Returns the resolved string, or an error message about the first unresolvable reference. */
export function resolveRefs(text: string, ctx: SecretContext): { value: string } | { error: string } {
  if (!text.includes('${')) return { value: text }
  let error: string | undefined
  const value = text.replace(REF, (ref, kind: string, arg: string) => {
    if (error) return ''
    if (kind === 'env') {
      const v = ctx.env[arg]
      if (v === undefined || v === '') error = `${ref} is not set`
      return v ?? ''
    }
    try {
      // Secret files conventionally end with a newline that is not part of the secret.
      return readFileSync(resolve(ctx.baseDir, arg), 'utf8').replace(/\r?\n$/, '')
    } catch (e) {
      error = `${ref} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`
      return ''
    }
  })
  return error ? { error } : { value }
}
