/**
 * Turns a rule's MatchIR into one predicate over RequestHead. Conditions run cheapest first:
 * method, path, headers, query, model, then the identity the pre-route filters found (tenant,
 * tenant labels, JWT claims).
 */
import type { KeyedMatchIR, MatchIR, StringMatchIR } from '../../compiler/ir.js'
import type { RequestHead } from '../types.js'
import { compileGlob, compileRouteRegex } from '../../shared/route-regex.js'
import { claimText } from '../identity/claims.js'

type Pred = (h: RequestHead) => boolean

export function compileStringMatch(m: StringMatchIR): (s: string) => boolean {
  switch (m.kind) {
    case 'exact': { const v = m.value; return (s) => s === v }
    case 'prefix': { const v = m.value; return (s) => s.startsWith(v) }
    case 'regex': { const re = compileRouteRegex(m.value); return (s) => re.test(s) }
    case 'glob': {
      // `gpt-4o*` is by far the common shape: a literal prefix and one trailing star.
      const star = m.value.indexOf('*')
      if (star === m.value.length - 1 && !m.value.includes('?')) { const p = m.value.slice(0, -1); return (s) => s.startsWith(p) }
      const re = compileGlob(m.value)
      return (s) => re.test(s)
    }
  }
}

function compileKeyed(m: KeyedMatchIR, get: (h: RequestHead, name: string) => string | undefined): Pred {
  const name = m.name
  switch (m.kind) {
    case 'present': return (h) => get(h, name) !== undefined
    case 'absent': return (h) => get(h, name) === undefined
    case 'exact': { const v = m.value!; return (h) => get(h, name) === v }
    case 'regex': {
      const re = compileRouteRegex(m.value!)
      return (h) => { const v = get(h, name); return v !== undefined && re.test(v) }
    }
  }
}

const headerOf = (h: RequestHead, name: string) => h.headers[name]

/** Query params are parsed only when a rule asks for one; most requests carry no query. */
function queryOf(h: RequestHead, name: string): string | undefined {
  if (h.query === '') return undefined
  return new URLSearchParams(h.query).get(name) ?? undefined
}

const labelOf = (h: RequestHead, name: string) => { const id = h.identity; return id === undefined || !Object.hasOwn(id.labels, name) ? undefined : id.labels[name] }
const claimOf = (h: RequestHead, name: string) => { const claims = h.identity?.claims; return claims === undefined ? undefined : claimText(claims, name) }

export function compileMatch(m: MatchIR): Pred {
  const preds: Pred[] = []
  if (m.methods) {
    if (m.methods.length === 1) { const only = m.methods[0]; preds.push((h) => h.method === only) }
    else { const set = new Set(m.methods); preds.push((h) => set.has(h.method)) }
  }
  if (m.path) { const f = compileStringMatch(m.path); preds.push((h) => f(h.path)) }
  for (const hm of m.headers) preds.push(compileKeyed(hm, headerOf))
  for (const qm of m.query) preds.push(compileKeyed(qm, queryOf))
  if (m.model) { const f = compileStringMatch(m.model); preds.push((h) => h.model !== undefined && f(h.model)) }
  // Identity conditions: set by the listener's pre-route filters; a request without one never matches them.
  if (m.tenant) { const f = compileStringMatch(m.tenant); preds.push((h) => h.identity !== undefined && f(h.identity.tenant)) }
  for (const lm of m.tenantLabels ?? []) preds.push(compileKeyed(lm, labelOf))
  for (const cm of m.claims ?? []) preds.push(compileKeyed(cm, claimOf))
  switch (preds.length) {
    case 0: return () => true
    case 1: return preds[0]
    case 2: { const [a, b] = preds; return (h) => a(h) && b(h) }
    default:
      return (h) => {
        for (let i = 0; i < preds.length; i++) if (!preds[i](h)) return false
        return true
      }
  }
}
