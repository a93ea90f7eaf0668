/**
 * Secrets in the config: resolving `${env:…}`/`${file:…}` references in the fields that take them
 * (remembering each resolved value, which the runtime scrubs, and each reference, which `collect`
 * mode lists), and the check of every other string for references that would be used literally.
 */
import type { Diagnostic, DiagnosticCode } from '../diagnostics.js'
import type { LoadedDoc } from '../load.js'
import { referenceProblem, resolveRefs, type Reference, type SecretMode } from '../references.js'
import { forEachString } from '../credentials.js'
import { below, diagnosticAt, type Located, type Segs } from './positions.js'

type Report = (code: DiagnosticCode, loc: Located, message: string) => void

export class SecretResolver {
  /** Values put in by reference, and URL credentials: secrets the runtime scrubs (SnapshotIR.secrets). */
  readonly declared: string[] = []
  /** Every reference met, in order of appearance (duplicates included). */
  readonly needs: Reference[] = []

  constructor(private readonly opts: { readonly env: NodeJS.ProcessEnv; readonly secrets: SecretMode }, private readonly report: Report) {}

  /** `text` with its references resolved, or undefined (reported as SY_CFG_SECRET at `loc`). */
  text(text: string, loc: Located): string | undefined {
    const r = resolveRefs(text, { baseDir: loc.doc.baseDir, env: this.opts.env, mode: this.opts.secrets })
    if ('error' in r) {
      this.report('SY_CFG_SECRET', loc, r.error)
      return undefined
    }
    this.declared.push(...r.refs)
    this.needs.push(...r.needs)
    return r.value
  }

  /** Like text(), with '' for a reference that cannot be resolved (already reported). */
  secret(text: string, loc: Located): string {
    return this.text(text, loc) ?? ''
  }

  /** Every string inside `value` (a filter config, a headers map) resolved. */
  deep(value: unknown, loc: Located): any {
    if (typeof value === 'string') return this.secret(value, loc)
    if (Array.isArray(value)) return value.map((v, i) => this.deep(v, below(loc, i)))
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[k] = this.deep(v, below(loc, k))
      return out
    }
    return value
  }

  /** Secrets found otherwise (URL userinfo). */
  declare(values: readonly string[]): void {
    this.declared.push(...values)
  }
}

/** The strings the resolvers pass through SecretResolver, by their path in a document. */
export function resolvesReferences(at: Segs): boolean {
  const [kind, , a, b, c] = at
  if (kind === 'clusters') return (a === 'endpoints' && (c === 'url' || c === 'api_key')) || (a === 'bedrock' && BEDROCK_SECRETS.has(b as string)) || (a === 'health_check' && b === 'headers') || (a === 'discovery' && b === 'api_key')
  if (kind === 'filters') return a === 'config'
  if (kind === 'keys') return a === 'secret'
  if (kind === 'admin') return at[1] === 'token'
  if (kind === 'telemetry') return at[1] === 'tracing' && (at[2] === 'endpoint' || at[2] === 'headers')
  if (kind === 'routes') return a === 'rules' && ((at[4] === 'direct_response' && at[5] === 'body') || (at[4] === 'filter_overrides' && at[6] === 'config'))
  return false
}
const BEDROCK_SECRETS = new Set(['access_key_id', 'secret_access_key', 'session_token'])
/** The same, for the message about a reference anywhere else. */
const RESOLVING_FIELDS = 'endpoint url and api_key, discovery.api_key, bedrock credentials, health_check headers, filter configs, direct_response bodies, keys[].secret, admin.token and telemetry.tracing endpoint and headers'

/** Every string of a document, wherever it sits: a reference look-alike, or a reference where none is resolved. */
export function referenceSyntaxProblems(doc: LoadedDoc): Diagnostic[] {
  const out: Diagnostic[] = []
  forEachString(doc.value, [], (s, at, credential) => {
    const problem = referenceProblem(s, { resolves: resolvesReferences(at), credential }, RESOLVING_FIELDS)
    if (problem) out.push(diagnosticAt('SY_CFG_SECRET_SYNTAX', { doc, at }, problem))
  })
  return out
}
