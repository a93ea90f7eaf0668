/**
 * What the YAML blocks of README.md and docs/*.md show, checked by the compiler (secrets replaced
 * by placeholders). The block's info string says what it shows:
 *
 *   ```yaml                     a whole config: compiles without a diagnostic
 *   ```yaml fragment in=<path>  part of one (e.g. in=clusters[0], in=clusters[0].circuit_breakers,
 *                               in=routes[0].rules[0]): merged into a minimal config at <path>,
 *                               which then compiles without a diagnostic
 *   ```yaml fragment            not a config on its own (a modeline): parses as YAML
 *   ```yaml invalid             a mistake on purpose: does not compile; a comment
 *                               `# error: <path>: <start of the message>` on a line names a
 *                               diagnostic of that line, and the block gets exactly the ones named
 *
 * Problems name the doc, the line in it and the diagnostic.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { isMap, parseAllDocuments, parse as parseYaml, stringify } from 'yaml'
import { compileConfig } from '../../../src/compiler/index.js'
import type { Diagnostic } from '../../../src/compiler/diagnostics.js'
import { repoRoot } from '../repo-root.js'
import { codeBlocks, type CodeBlock } from './markdown-blocks.js'
import { withPlaceholderSecrets } from './placeholder-secrets.js'

export type DocBlock = CodeBlock & { readonly doc: string }
type Obj = Record<string, unknown>

const KINDS = ['admin', 'runtime', 'listeners', 'routes', 'clusters', 'filters']
const ACTIONS = ['cluster', 'weighted_clusters', 'fallback', 'direct_response']

/** Every fenced block of README.md and docs/*.md. */
export function docBlocks(): DocBlock[] {
  const docs = ['README.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)]
  return docs.flatMap((doc) => codeBlocks(readFileSync(join(repoRoot, doc), 'utf8')).map((b) => ({ doc, ...b })))
}

export function isYaml(b: CodeBlock): boolean {
  return b.info[0] === 'yaml' || b.info[0] === 'yml'
}

/** A block whose text is a config map: untagged, it would go unchecked. */
export function looksLikeConfig(b: CodeBlock): boolean {
  const parsed = parseAllDocuments(b.text)
  const first = Array.isArray(parsed) ? parsed[0] : undefined
  return first !== undefined && first.errors.length === 0 && isMap(first.contents) && first.contents.items.some((p) => KINDS.includes(String((p.key as { value?: unknown })?.value)))
}

/** Why a yaml block's info string is not one this check knows, or undefined. */
export function badInfo(b: CodeBlock): string | undefined {
  const [, kind, ...rest] = b.info
  const ok = kind === undefined || (kind === 'invalid' && rest.length === 0) || (kind === 'fragment' && (rest.length === 0 || (rest.length === 1 && /^in=[A-Za-z_][\w.[\]]*$/.test(rest[0]))))
  return ok ? undefined : `\`\`\`${b.info.join(' ')}: expected yaml, yaml fragment [in=<path>] or yaml invalid`
}

/** What is wrong with what the block shows, one line each; [] when it shows what it says. */
export function checkBlock(b: DocBlock): string[] {
  const at = (line: number) => `${b.doc}:${b.line + line}`
  const show = (d: Diagnostic, line = d.line) => `${at(line)}: ${d.path ? `${d.path}: ` : ''}${d.message}`
  const bad = badInfo(b)
  if (bad) return [`${at(0)}: ${bad}`]
  const name = `${b.doc}:${b.line}`
  const kind = b.info[1]
  if (kind === undefined) return compileText(b.text, name).map((d) => show(d))
  if (kind === 'invalid') return checkInvalid(b.text, compileText(b.text, name), at, show)
  const parsed = parseAllDocuments(b.text)
  const syntax = (Array.isArray(parsed) ? parsed : []).flatMap((d) => d.errors.map((e) => `${at(e.linePos?.[0].line ?? 0)}: ${e.message.split('\n')[0]}`))
  if (syntax.length > 0) return syntax
  const inPath = b.info[2]?.slice('in='.length)
  if (inPath === undefined) return []
  const fragment = parseYaml(b.text) as unknown
  if (fragment === null || typeof fragment !== 'object' || Array.isArray(fragment)) return [`${at(0)}: a fragment in=${inPath} must be a map`]
  // Positions refer to the generated config: report the block's first line and the path.
  return compileText(stringify(wrap(fragment as Obj, inPath)), name).map((d) => show(d, 0))
}

function checkInvalid(text: string, diags: readonly Diagnostic[], at: (line: number) => string, show: (d: Diagnostic) => string): string[] {
  if (diags.length === 0) return [`${at(0)}: shown as \`\`\`yaml invalid, but it compiles`]
  const named = text.split('\n').flatMap((line, i) => {
    const m = /#\s*error:\s*(.+?)\s*$/.exec(line)
    return m ? [{ line: i + 1, text: m[1] }] : []
  })
  if (named.length === 0) return []
  const names = (n: { line: number; text: string }, d: Diagnostic) => n.line === d.line && `${d.path}: ${d.message}`.startsWith(n.text)
  return [
    ...diags.filter((d) => !named.some((n) => names(n, d))).map((d) => `not named in the block: ${show(d)}`),
    ...named.filter((n) => !diags.some((d) => names(n, d))).map((n) => `named but not reported: ${at(n.line)}: ${n.text}`),
  ]
}

function compileText(text: string, name: string): readonly Diagnostic[] {
  const p = withPlaceholderSecrets(text)
  try {
    return compileConfig([{ name, text: p.text, baseDir: repoRoot }], { source: `file:${name}`, env: p.env }).diagnostics
  } finally {
    p.dispose()
  }
}

/** `clusters[0].circuit_breakers` → ['clusters', 0, 'circuit_breakers'] */
function segments(path: string): (string | number)[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]))
}

/** The smallest config that compiles, with the fragment merged in at `path`. */
export function wrap(fragment: Obj, path: string): Obj {
  const config: Obj = {
    listeners: [{ name: 'docs', port: 18080, route_table: 'docs' }],
    routes: [{ name: 'docs', rules: [{ cluster: 'docs' }] }],
    clusters: [{ name: 'docs', provider: 'mock' }],
  }
  let at: unknown = config
  for (const s of segments(path)) {
    const holder = at as Record<string | number, unknown>
    holder[s] ??= {}
    at = holder[s]
  }
  // A rule has exactly one action: the fragment's replaces the minimal config's.
  if (ACTIONS.some((a) => a in fragment)) for (const a of ACTIONS) delete (at as Obj)[a]
  Object.assign(at as Obj, fragment)
  const cluster = (config.clusters as Obj[])[0].name
  for (const t of config.routes as { rules: Obj[] }[]) for (const r of t.rules) if (r.cluster === 'docs') r.cluster = cluster
  ;(config.listeners as Obj[])[0].route_table = (config.routes as Obj[])[0].name
  return config
}
