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

export interface Resolved {
  readonly value: string
  /**
   * What each reference resolved to. A value put in the config by reference is a secret by
   * declaration: the runtime scrubs it from whatever upstreams send back.
   */
  readonly refs: readonly string[]
}

const NO_REFS: readonly string[] = []

/** Returns the resolved string, or an error message about the first unresolvable reference. */
export function resolveRefs(text: string, ctx: SecretContext): Resolved | { error: string } {
  if (!text.includes('${')) return { value: text, refs: NO_REFS }
  let error: string | undefined
  const refs: string[] = []
  const value = text.replace(REF, (ref, kind: string, arg: string) => {
    if (error) return ''
    if (kind === 'env') {
      const v = ctx.env[arg]
      if (v === undefined || v === '') error = `${ref} is not set`
      else refs.push(v)
      return v ?? ''
    }
    try {
      // Secret files conventionally end with a newline that is not part of the secret.
      const v = readFileSync(resolve(ctx.baseDir, arg), 'utf8').replace(/\r?\n$/, '')
      if (v !== '') refs.push(v)
      return v
    } catch (e) {
      error = `${ref} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`
      return ''
    }
  })
  return error ? { error } : { value, refs }
}
