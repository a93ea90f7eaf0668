/**
 * What every resolver shares: the diagnostics list it appends to, the secret resolver, and the IR
 * path → source map it records what it lowers into.
 */
import type { Diagnostic, DiagnosticCode } from '../diagnostics.js'
import type { SecretMode } from '../references.js'
import { diagnosticAt, SourcePositions, type Located } from './positions.js'
import { SecretResolver } from './secrets.js'

export interface ResolveOptions {
  readonly env: NodeJS.ProcessEnv
  readonly secrets: SecretMode
}

export interface ResolveContext {
  readonly diags: Diagnostic[]
  readonly mode: SecretMode
  readonly secrets: SecretResolver
  readonly positions: SourcePositions
  report(code: DiagnosticCode, loc: Located, message: string, key?: string): void
}

export function createContext(diags: Diagnostic[], opts: ResolveOptions): ResolveContext {
  const report = (code: DiagnosticCode, loc: Located, message: string, key?: string) => {
    diags.push(diagnosticAt(code, loc, message, key))
  }
  return { diags, mode: opts.secrets, secrets: new SecretResolver(opts, report), positions: new SourcePositions(), report }
}
