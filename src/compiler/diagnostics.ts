/**
 * Config diagnostics: every problem found while compiling, with a stable code and a
 * `source:line:col` position. Compilation collects them all instead of stopping at the first.
 */
export const DiagnosticCodes = {
  SY_CFG_IO: 'cannot read a config source',
  SY_CFG_YAML: 'YAML syntax error',
  SY_CFG_SCHEMA: 'schema violation',
  SY_CFG_DUPLICATE: 'duplicate name',
  SY_CFG_UNKNOWN_CLUSTER: 'reference to an unknown cluster',
  SY_CFG_UNKNOWN_FILTER: 'reference to an unknown filter',
  SY_CFG_UNKNOWN_ROUTE_TABLE: 'reference to an unknown route table',
  SY_CFG_ZERO_WEIGHT: 'weights sum to zero',
  SY_CFG_BAD_REGEX: 'invalid regular expression',
  SY_CFG_PORT_CLASH: 'two listeners (or a listener and the admin API) on one port',
  SY_CFG_SECRET: 'a ${env:…}/${file:…} reference cannot be resolved',
  SY_CFG_SECRET_SYNTAX: 'a string that looks like a variable reference but would be used literally',
  SY_CFG_NO_ENDPOINTS: 'a cluster needs endpoints',
  SY_CFG_BAD_URL: 'invalid endpoint URL',
  SY_CFG_FILTER: 'filter config rejected by the filter',
  SY_CFG_EMPTY: 'no configuration found',
  SY_CFG_ADMIN_EXPOSED: 'admin API on a non-loopback address without admin.token',
  SY_CFG_UNKNOWN_TENANT: 'reference to an unknown tenant',
  SY_CFG_BAD_KEY: 'an API key entry that cannot be used (hash, expires_at, a secret shared by two ids)',
  SY_CFG_AUTH_PHASE: 'an auth filter where it cannot run (a rule override, a route-only place)',
  SY_CFG_NEEDS_REDIS: 'a budget or a global limit without the top-level redis block',
  SY_CFG_ROLLOUT: 'a rollout whose candidate, baseline or steps do not fit its weighted split',
  SY_CFG_UNSUPPORTED: "a setting the cluster's provider cannot honour (embedding batching without an OpenAI-format embeddings API)",
  SY_CFG_BATCHES: 'a batches section naming a listener that cannot serve the batch API',
  SY_CFG_WASM: 'a WASM filter module that cannot be used (unreadable, invalid, an import outside the hosted proxy-wasm subset, over its memory limit)',
  SY_CFG_REGISTRATION: 'an endpoint registration in etcd that cannot be used (ignored; the others serve)',
  SY_CFG_PLUGIN: 'a plugin filter whose module cannot be used (not found, throws while loading, no create(), a bad options schema)',
  SY_CFG_MODEL: 'a model registry entry that cannot be used (replacement, deprecation date, a provider id or price another setting contradicts)',
  SY_CFG_TRACING: 'a per-rule tracing setting out of its range (max_content_bytes)',
} as const

export type DiagnosticCode = keyof typeof DiagnosticCodes

export interface Diagnostic {
  readonly code: DiagnosticCode
  readonly source: string
  readonly line: number
  readonly col: number
  /** JSON-ish path inside the document, e.g. `routes[0].rules[1].cluster`. */
  readonly path: string
  readonly message: string
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.source}:${d.line}:${d.col}: ${d.path ? d.path + ': ' : ''}${d.message}`
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return list.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.line - b.line || a.col - b.col))
}

/** `['routes', 0, 'rules', 1]` → `routes[0].rules[1]` */
export function formatPath(segs: readonly (string | number)[]): string {
  let out = ''
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`
    else out += out ? `.${s}` : s
  }
  return out
}
