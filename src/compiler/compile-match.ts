/**
 * Turns a rule's MatchIR into one predicate over RequestHead. Conditions run cheapest first:
 * method, path, headers, query, model.
 */
import { RE2JS } from 're2js'
import type { KeyedMatchIR, MatchIR, StringMatchIR } from './ir.js'
import type { RequestHead } from '../runtime/types.js'

type Pred = (h: RequestHead) => boolean

/**
 * Route regexes (path, header, query) are written in ECMAScript syntax but run on RE2JS, a
 * linear-time engine (Envoy uses RE2 for the same reason): a configured `(a+)+$` against a
 * client-chosen header must not stall a worker. RE2 has no backreferences or lookaround; such a
 * pattern is rejected when the config is compiled (see routeRegexProblem).
 */
export function compileRouteRegex(src: string): RE2JS {
  return RE2JS.compile(RE2JS.translateRegExp(src))
}

/** Why `src` cannot be a route regex, or undefined if it can. Used by the compiler's semantic pass. */
export function routeRegexProblem(src: string): string | undefined {
  try {
    new RegExp(src)
  } catch (e) {
    return `invalid regex ${JSON.stringify(src)}: ${(e as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /s, '')}`
  }
  const unsupported = (detail: string) =>
    `regex ${JSON.stringify(src)} uses a feature the linear-time engine does not support: ${detail} (route regexes run on RE2, which has no backreferences or lookaround)`
  // Scanned before translating: the translation turns `\k<name>` into the literal `k<name>`.
  const feature = unsupportedFeature(src)
  if (feature) return unsupported(feature)
  try {
    compileRouteRegex(src)
    return undefined
  } catch (e) {
    return unsupported(String((e as Error).message).replace(/^error parsing regexp: /, ''))
  }
}

/** The first backreference or lookaround in a (valid ECMAScript) pattern, described for the error message. */
function unsupportedFeature(src: string): string | undefined {
  let inClass = false
  for (let i = 0; i < src.length; i++) {
    const c = src[i]
    if (c === '\\') {
      const n = src[i + 1] ?? ''
      if (!inClass && n >= '1' && n <= '9') return `backreference \\${n}`
      if (!inClass && n === 'k' && src[i + 2] === '<') return 'named backreference \\k<…>'
      i++
    } else if (inClass) {
      if (c === ']') inClass = false
    } else if (c === '[') inClass = true
    else if (c === '(' && src[i + 1] === '?') {
      const look = src.slice(i + 2, i + 4)
      if (look[0] === '=' || look[0] === '!') return `lookahead (?${look[0]}…)`
      if (look === '<=' || look === '<!') return `lookbehind (?${look}…)`
    }
  }
  return undefined
}

/**
 * Model globs run on RE2JS too. A RegExp would be `^.*a.*b…$`, which backtracks polynomially in
 * the number of stars (`*a*a*a*b` against 800 `a`s: 17 s in V8), and the model name is the client's.
 */
export function compileGlob(glob: string): RE2JS {
  let src = '(?s)^'
  for (const ch of glob) {
    if (ch === '*') src += '.*'
    else if (ch === '?') src += '.'
    else src += RE2JS.quote(ch)
  }
  return RE2JS.compile(src + '$')
}

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

export function compileMatch(m: MatchIR): { test: Pred; needsModel: boolean } {
  const preds: Pred[] = []
  if (m.methods) {
    if (m.methods.length === 1) { const only = m.methods[0]; preds.push((h) => h.method === only) }
    else { const set = new Set(m.methods); preds.push((h) => set.has(h.method)) }
  }
  if (m.path) { const f = compileStringMatch(m.path); preds.push((h) => f(h.path)) }
  for (const hm of m.headers) preds.push(compileKeyed(hm, headerOf))
  for (const qm of m.query) preds.push(compileKeyed(qm, queryOf))
  if (m.model) { const f = compileStringMatch(m.model); preds.push((h) => h.model !== undefined && f(h.model)) }
  const needsModel = m.model !== undefined
  switch (preds.length) {
    case 0: return { test: () => true, needsModel }
    case 1: return { test: preds[0], needsModel }
    case 2: { const [a, b] = preds; return { test: (h) => a(h) && b(h), needsModel } }
    default:
      return {
        test: (h) => {
          for (let i = 0; i < preds.length; i++) if (!preds[i](h)) return false
          return true
        },
        needsModel,
      }
  }
}
