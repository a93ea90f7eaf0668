/**
 * `${env:NAME}` and `${file:path}` references inside config strings: what counts as one (and the
 * look-alikes from shells, compose files, LiteLLM or Windows that would otherwise be sent upstream
 * as written), what a config needs, and resolving them. Messages name the reference, never a value.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

const REF = /\$\{(env|file):([^}]*)\}/g
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * `resolve` reads every reference (env, files); `collect` checks and records them without reading
 * anything, each standing in as PLACEHOLDER: what validate and `config push` need on a machine that
 * does not hold production secrets.
 */
export type SecretMode = 'resolve' | 'collect'

/** What a reference stands for in `collect` mode: harmless wherever a string goes (header, URL host). */
export const PLACEHOLDER = 'placeholder'

export interface SecretContext {
  readonly baseDir: string
  readonly env: NodeJS.ProcessEnv
  readonly mode: SecretMode
}

/** A reference the config holds: an environment variable, or a file by its absolute path. */
export interface Reference {
  readonly kind: 'env' | 'file'
  readonly name: string
}

export interface Resolved {
  readonly value: string
  /**
   * What each reference resolved to. A value put in the config by reference is a secret by
   * declaration: the runtime scrubs it from whatever upstreams send back.
   */
  readonly refs: readonly string[]
  readonly needs: readonly Reference[]
}

const NONE: readonly never[] = []

/**
 * Returns the resolved string, or an error message about the first unresolvable reference.
 * Malformed references are left alone: referenceProblem reports those.
 */
export function resolveRefs(text: string, ctx: SecretContext): Resolved | { error: string } {
  if (!text.includes('${')) return { value: text, refs: NONE, needs: NONE }
  let error: string | undefined
  const refs: string[] = []
  const needs: Reference[] = []
  const value = text.replace(REF, (ref, kind: string, arg: string) => {
    if (error || (kind === 'env' ? !ENV_NAME.test(arg) : arg === '')) return ref
    if (kind === 'env') {
      needs.push({ kind: 'env', name: arg })
      if (ctx.mode === 'collect') return PLACEHOLDER
      const v = ctx.env[arg]
      if (v === undefined || v === '') error = `${ref} is not set`
      else refs.push(v)
      return v ?? ''
    }
    const path = resolve(ctx.baseDir, arg)
    needs.push({ kind: 'file', name: path })
    if (ctx.mode === 'collect') return PLACEHOLDER
    try {
      // Secret files conventionally end with a newline that is not part of the secret.
      const v = readFileSync(path, 'utf8').replace(/\r?\n$/, '')
      if (v !== '') refs.push(v)
      return v
    } catch (e) {
      error = `${ref} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`
      return ''
    }
  })
  return error ? { error } : { value, refs, needs }
}

/** Where a string sits: whether the compiler resolves references there, whether it holds a credential. */
export interface Slot {
  readonly resolves: boolean
  readonly credential: boolean
}

const FORMS = '${env:NAME} or ${file:path}'
const literally = (what: string, fix: string) => `${what} is used literally (references are ${FORMS}); did you mean ${fix}?`

/**
 * What is wrong with the variable-looking parts of a config string, or undefined. Anywhere:
 * anything `${…}` that is not a well-formed reference, and LiteLLM's `os.environ/NAME`. In
 * credential slots also `$NAME`, `Bearer $NAME`, `$(NAME)` and `%NAME%` — only there, so that a
 * regex `^\$` or a price `$5` elsewhere stays what it is. `where` lists the fields that resolve
 * references, for a reference written where none is resolved.
 */
export function referenceProblem(text: string, slot: Slot, where: string): string | undefined {
  const litellm = /^os\.environ\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(text)
  const bare = slot.credential ? /^(?:([A-Za-z][\w-]*) +)?(?:\$([A-Z_][A-Z0-9_]*)|\$\(([A-Za-z_][A-Za-z0-9_]*)\)|%([A-Za-z_][A-Za-z0-9_]*)%)$/.exec(text) : null
  if (!slot.resolves) {
    const shown = litellm || bare ? text : /\$\{[A-Za-z_][\w.:/-]*\}/.exec(text)?.[0]
    return shown === undefined ? undefined : `${shown} is used literally: this field does not resolve references (${where} do)`
  }
  if (litellm) return literally(`${text} (LiteLLM's syntax)`, `\${env:${litellm[1]}}`)
  if (bare) {
    const name = bare[2] ?? bare[3] ?? bare[4]
    const written = text.slice(bare[1] ? bare[1].length + 1 : 0)
    return literally(written, bare[1] ? `"${bare[1]} \${env:${name}}"` : `\${env:${name}}`)
  }
  for (let i = text.indexOf('${'); i >= 0; i = text.indexOf('${', i + 2)) {
    const end = text.indexOf('}', i)
    if (end < 0) return `unterminated reference: "\${" without a closing "}" (references are ${FORMS})`
    const problem = tokenProblem(text.slice(i, end + 1))
    if (problem) return problem
  }
  return undefined
}

/** One `${…}` token. */
function tokenProblem(ref: string): string | undefined {
  const inner = ref.slice(2, -1)
  const m = /^([A-Za-z]+)([:./])(.*)$/s.exec(inner)
  const kind = m?.[1].toLowerCase()
  if (m && (kind === 'env' || kind === 'file')) {
    const arg = m[3]
    if (m[1] !== kind || m[2] !== ':') return `${ref}: reference kinds are written lower-case with a colon; did you mean \${${kind}:${arg}}?`
    if (kind === 'file') return arg === '' ? `${ref} names no file; write \${file:path} (relative to this YAML file)` : undefined
    if (ENV_NAME.test(arg)) return undefined
    if (arg === '') return `${ref} names no variable; write \${env:NAME}`
    const lead = /^([A-Za-z_][A-Za-z0-9_]*)[:?]?[-=?+]/.exec(arg)
    if (lead) return `${ref}: shell-style defaults (:-, :=, :?) are not supported; did you mean \${env:${lead[1]}}?`
    return `${ref}: '${arg}' is not an environment variable name (letters, digits, _)`
  }
  if (m && m[2] === ':') return `${ref}: unknown reference kind '${m[1]}' (known: env, file)`
  if (ENV_NAME.test(inner)) return literally(ref, `\${env:${inner}}`)
  if (/^[\w./-]+$/.test(inner) && /\/|\.[a-z0-9]+$/.test(inner)) return literally(ref, `\${file:${inner}}`)
  return `${ref} is not a reference (references are ${FORMS})`
}
