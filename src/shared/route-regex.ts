/**
 * The regex engine for route matching, shared by the compiler (which rejects what it cannot run,
 * routeRegexProblem) and the runtime build (which compiles the patterns into matchers).
 */
import { RE2JS } from 're2js'

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
