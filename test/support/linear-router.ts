/**
 * The reference matcher (after Hono's linear-router): walk the rules in config order and return the
 * first whose every condition holds. Deliberately naive and independent of src/compiler/compile-*.ts,
 * so the compiled route table can be checked against it.
 */
import type { KeyedMatchIR, RouteTableIR, RuleIR, StringMatchIR } from '../../src/compiler/ir.js'
import type { RequestHead } from '../../src/runtime/types.js'

/** `*` any run of characters, `?` exactly one; full match. Recursive on purpose: no regex involved. */
function globMatch(glob: string, s: string): boolean {
  if (glob === '') return s === ''
  if (glob[0] === '*') return globMatch(glob.slice(1), s) || (s !== '' && globMatch(glob, s.slice(1)))
  if (s === '') return false
  return (glob[0] === '?' || glob[0] === s[0]) && globMatch(glob.slice(1), s.slice(1))
}

function stringMatches(m: StringMatchIR, s: string): boolean {
  if (m.kind === 'exact') return s === m.value
  if (m.kind === 'prefix') return s.slice(0, m.value.length) === m.value
  if (m.kind === 'regex') return new RegExp(m.value).test(s)
  return globMatch(m.value, s)
}

function keyedMatches(m: KeyedMatchIR, value: string | undefined): boolean {
  if (m.kind === 'present') return value !== undefined
  if (m.kind === 'absent') return value === undefined
  if (value === undefined) return false
  return m.kind === 'exact' ? value === m.value : new RegExp(m.value!).test(value)
}

/** A claim by exact name, else by dotted path; strings, numbers, booleans as text, anything else present but unmatchable. */
function claimAsText(claims: Readonly<Record<string, unknown>> | undefined, name: string): string | undefined {
  if (claims === undefined) return undefined
  let v: unknown
  if (name in claims) v = claims[name]
  else {
    v = claims
    for (const part of name.split('.')) v = v !== null && typeof v === 'object' && part in v ? (v as Record<string, unknown>)[part] : undefined
  }
  if (v === undefined) return undefined
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '\u0000'
}

export function ruleMatches(rule: RuleIR, head: RequestHead): boolean {
  const m = rule.match
  const query = new URLSearchParams(head.query)
  if (m.methods && !m.methods.includes(head.method)) return false
  if (m.path && !stringMatches(m.path, head.path)) return false
  if (!m.headers.every((h) => keyedMatches(h, head.headers[h.name]))) return false
  if (!m.query.every((q) => keyedMatches(q, query.get(q.name) ?? undefined))) return false
  if (m.model && (head.model === undefined || !stringMatches(m.model, head.model))) return false
  const id = head.identity
  if (m.tenant && (id === undefined || !stringMatches(m.tenant, id.tenant))) return false
  if (!(m.tenantLabels ?? []).every((l) => keyedMatches(l, id && l.name in id.labels ? id.labels[l.name] : undefined))) return false
  if (!(m.claims ?? []).every((c) => keyedMatches(c, claimAsText(id?.claims, c.name)))) return false
  return true
}

export function createLinearRouter(table: RouteTableIR): { match(head: RequestHead): RuleIR | undefined } {
  return { match: (head) => table.rules.find((rule) => ruleMatches(rule, head)) }
}
