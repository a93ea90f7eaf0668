/**
 * What the resolve/ unit tests start from: YAML loaded and validated as compileConfig does (schema
 * defaults filled in, positions kept), merged into one config, and a fresh resolve context.
 *
 * @example
 * const { config, ctx } = mergedConfig({ 'a.yaml': 'clusters: [{ name: a, provider: mock }]' })
 * const clusters = resolveClusters(config, ctx)
 */
import assert from 'node:assert/strict'
import type { Diagnostic } from '../../src/compiler/diagnostics.js'
import { loadSources, type LoadedDoc } from '../../src/compiler/load.js'
import { validateDocs } from '../../src/compiler/validate.js'
import { createContext, type ResolveContext, type ResolveOptions } from '../../src/compiler/resolve/context.js'
import { emptyConfig, mergeDoc, type MergedConfig } from '../../src/compiler/resolve/merge.js'

/** Files by name → their documents, validated; fails the test on a load or schema problem. */
export function validatedDocs(files: Readonly<Record<string, string>>): LoadedDoc[] {
  const diags: Diagnostic[] = []
  const docs = loadSources(Object.entries(files).map(([name, text]) => ({ name, text, baseDir: '/nonexistent' })), diags)
  validateDocs(docs, diags)
  assert.deepStrictEqual(diags, [], 'the test config should load and validate')
  return docs
}

export function resolveContext(opts: Partial<ResolveOptions> = {}): ResolveContext {
  return createContext([], { env: {}, secrets: 'resolve', ...opts })
}

/** The files merged, with the context the merge reported into. */
export function mergedConfig(files: Readonly<Record<string, string>>, opts: Partial<ResolveOptions> = {}): { config: MergedConfig; ctx: ResolveContext; docs: LoadedDoc[] } {
  const docs = validatedDocs(files)
  const ctx = resolveContext(opts)
  const config = emptyConfig()
  for (const doc of docs) mergeDoc(config, doc, ctx)
  return { config, ctx, docs }
}

/** Diagnostics as `source:line:col code path: message`, for whole-list comparisons. */
export function shown(diags: readonly Diagnostic[]): string[] {
  return diags.map((d) => `${d.source}:${d.line}:${d.col} ${d.code} ${d.path}: ${d.message}`)
}
