/**
 * `cors` filter: lets browser apps on other origins call the gateway (Fetch standard, CORS
 * protocol). A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered
 * here, 204 with the Access-Control-Allow-* headers or 403 for an origin not allowed, and never
 * reaches a provider. Every other response to an allowed Origin, the gateway's own errors
 * included, gets Access-Control-Allow-Origin and the exposed headers. Config is validated by
 * schemas/filters/cors.schema.json; origins, header lists and fixed header values are compiled
 * here, once per snapshot.
 *
 * Preflights often match no rule (a rule on `model` or `methods: [POST]` does not accept a
 * bodiless OPTIONS), and the filter chain only runs once a rule matched, so the snapshot builder
 * wraps the listener's route table with withCorsPreflight(): a preflight goes to the cors
 * instance of the rule it matches, else to the listener's.
 *
 * @example
 * filters:
 *   - name: browser-apps
 *     type: cors
 *     config:
 *       allow_origins: [https://app.example.com, "https://*.example.dev"]
 *       allow_credentials: true
 *       max_age: 1h
 */
import { durationMs } from '../../shared/units.js'
import { errorReply } from '../errors.js'
import type { CompiledChain, CompiledRoute, Filter, FilterDeps, LocalReply, RequestContext, RequestHead, RouteTable } from '../types.js'

/** As in schemas/filters/cors.schema.json (validated, defaults filled). */
export interface CorsConfig {
  allow_origins: string[]
  allow_methods: string[]
  allow_headers: string[]
  expose_headers: string[]
  allow_credentials: boolean
  max_age: string
}

/** The preflight answer of a cors instance; found on the instance by this key (it survives `{ ...filter }`). */
export const ANSWER_PREFLIGHT = Symbol('cors.answerPreflight')
type CorsFilter = Filter & { readonly [ANSWER_PREFLIGHT]: (ctx: RequestContext) => LocalReply }

/** Names, each exact or, with a trailing `*`, a prefix (`*` alone: any). */
interface NameList {
  readonly exact: ReadonlySet<string>
  readonly prefixes: readonly string[]
}

function compileNames(names: readonly string[]): NameList {
  const exact = new Set<string>()
  const prefixes: string[] = []
  for (const n of names) {
    const name = n.toLowerCase()
    if (name.endsWith('*')) prefixes.push(name.slice(0, -1))
    else exact.add(name)
  }
  return { exact, prefixes }
}

function listed(list: NameList, name: string): boolean {
  if (list.exact.has(name)) return true
  for (let i = 0; i < list.prefixes.length; i++) if (name.startsWith(list.prefixes[i])) return true
  return false
}

interface OriginMatcher {
  readonly any: boolean
  test(origin: string): boolean
}

/** A hostname's labels: what may stand for the `*` of `https://*.example.com`. */
const SUBDOMAIN = /^[a-z0-9-]+(\.[a-z0-9-]+)*$/

export function compileOrigins(entries: readonly string[]): OriginMatcher {
  const exact = new Set<string>()
  const wild: { prefix: string; suffix: string }[] = []
  let any = false
  for (const raw of entries) {
    if (raw === '*') { any = true; continue }
    if (raw === 'null') throw new Error(`allow_origins: 'null' is not allowed: sandboxed frames, file: pages and redirects all send it, so it would grant every one of them`)
    const star = raw.indexOf('://*.')
    if (star >= 0) {
      const prefix = raw.slice(0, star + 3).toLowerCase()
      const rest = raw.slice(star + 4)
      if (!/^https?:\/\/$/.test(prefix) || rest.includes('*') || originOf(`${prefix}x${rest}`) !== `${prefix}x${rest}`.toLowerCase()) {
        throw new Error(`allow_origins: '${raw}' is not an origin pattern (expected scheme://*.host[:port], e.g. https://*.example.com)`)
      }
      wild.push({ prefix, suffix: rest.toLowerCase() })
      continue
    }
    const origin = raw.includes('*') ? undefined : originOf(raw)
    if (origin !== raw.toLowerCase()) {
      const hint = origin === undefined ? 'e.g. https://app.example.com, or *' : `did you mean '${origin}'?`
      throw new Error(`allow_origins: '${raw}' is not an origin (scheme://host[:port], no path or trailing slash; ${hint})`)
    }
    exact.add(origin)
  }
  if (any) return { any: true, test: () => true }
  return {
    any: false,
    test(origin) {
      if (exact.has(origin)) return true
      for (let i = 0; i < wild.length; i++) {
        const w = wild[i]
        if (origin.length > w.prefix.length + w.suffix.length && origin.startsWith(w.prefix) && origin.endsWith(w.suffix)
          && SUBDOMAIN.test(origin.slice(w.prefix.length, origin.length - w.suffix.length))) return true
      }
      return false
    },
  }
}

function originOf(s: string): string | undefined {
  try {
    const u = new URL(s)
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined
  } catch {
    return undefined
  }
}


const EMPTY = Buffer.alloc(0)
/** An HTTP field name (RFC 9110 token), lower-case: nothing else is echoed back. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/

export function create(config: CorsConfig, _deps: FilterDeps): Filter {
  const origins = compileOrigins(config.allow_origins)
  const credentials = config.allow_credentials
  if (origins.any && credentials) {
    throw new Error(`allow_origins '*' cannot be combined with allow_credentials: true (browsers refuse credentials for a wildcard origin); list the origins`)
  }
  const methods = config.allow_methods.join(', ')
  const allowHeaders = compileNames(config.allow_headers)
  const expose = compileNames(config.expose_headers)
  const exposeFixed = [...expose.exact].join(', ')
  const maxAge = String(Math.floor(durationMs(config.max_age) / 1000))
  // With `*` (never with credentials) the answer is the same for every origin; otherwise it echoes it.
  const fixedOrigin = origins.any ? '*' : undefined
  const vary = fixedOrigin === undefined
  const refused = { openai: errorReply('openai', 'SY_CORS_ORIGIN_NOT_ALLOWED'), anthropic: errorReply('anthropic', 'SY_CORS_ORIGIN_NOT_ALLOWED') }

  const answerPreflight = (ctx: RequestContext): LocalReply => {
    const h = ctx.head.headers
    const origin = h.origin!
    if (!origins.test(origin)) return refused[ctx.protocol]
    const headers: [string, string][] = [['access-control-allow-origin', fixedOrigin ?? origin], ['access-control-allow-methods', methods]]
    const requested = h['access-control-request-headers']
    if (requested !== undefined) {
      // Echo the requested names that are allowed; a name left out makes the browser say which one.
      const ok = requested.split(',').map((s) => s.trim().toLowerCase()).filter((n) => TOKEN.test(n) && listed(allowHeaders, n))
      if (ok.length > 0) headers.push(['access-control-allow-headers', ok.join(', ')])
    }
    if (credentials) headers.push(['access-control-allow-credentials', 'true'])
    headers.push(['access-control-max-age', maxAge])
    if (vary) headers.push(['vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'])
    return { status: 204, headers, body: EMPTY }
  }

  const filter: CorsFilter = {
    name: 'cors',
    [ANSWER_PREFLIGHT]: answerPreflight,
    // hot path: requests without Origin (every non-browser client) cost a scan of the names and a push.
    onResponse(ctx: RequestContext) {
      let list = ctx.responseHeaders
      // The grants are this filter's alone: none that a provider or another filter let through stays.
      for (let i = 0; i < list.length; i++) {
        if (list[i][0].startsWith('access-control-')) { list = list.filter(([n]) => !n.startsWith('access-control-')); break }
      }
      if (vary) list.push(['vary', 'Origin'])
      const origin = ctx.head.headers.origin
      if (origin !== undefined && origins.test(origin)) {
        list.push(['access-control-allow-origin', fixedOrigin ?? origin])
        if (credentials) list.push(['access-control-allow-credentials', 'true'])
        let exposed = exposeFixed
        if (expose.prefixes.length > 0) {
          // Expose-Headers takes no patterns: name what this response carries.
          for (const [name] of list) {
            const n = name.toLowerCase()
            if (!expose.exact.has(n) && !n.startsWith('access-control-') && listed(expose, n)) exposed = exposed === '' ? n : `${exposed}, ${n}`
          }
        }
        if (exposed !== '') list.push(['access-control-expose-headers', exposed])
      }
      ctx.responseHeaders = list
    },
  }
  return filter
}

function preflightOf(chain: CompiledChain): ((ctx: RequestContext) => LocalReply) | undefined {
  for (const f of chain.onResponse) {
    const answer = (f as Partial<CorsFilter>)[ANSWER_PREFLIGHT]
    if (answer !== undefined) return answer
  }
  return undefined
}

const NO_HOOKS: readonly Filter[] = []
const UNREACHED: LocalReply = { status: 204, headers: [], body: EMPTY }

/** A route that runs only `answer`: no provider, no other filter (a preflight carries no credentials). */
/** The routes that only answer a preflight (made below): auth may let exactly these through. */
const PREFLIGHT_ROUTES = new WeakSet<CompiledRoute>()

/** Is this the cors filter's preflight answer (not a route that forwards anything)? */
export function isPreflightAnswer(route: CompiledRoute | undefined): boolean {
  return route !== undefined && PREFLIGHT_ROUTES.has(route)
}

function preflightRoute(base: CompiledRoute | undefined, name: string, answer: (ctx: RequestContext) => LocalReply): CompiledRoute {
  const route = preflightRouteOf(base, name, answer)
  PREFLIGHT_ROUTES.add(route)
  return route
}

function preflightRouteOf(base: CompiledRoute | undefined, name: string, answer: (ctx: RequestContext) => LocalReply): CompiledRoute {
  const chain: CompiledChain = { names: [name], onRequest: [{ name, onRequest: answer }], onResponse: NO_HOOKS, onChunk: NO_HOOKS, onComplete: NO_HOOKS }
  return {
    name: base?.name ?? 'cors-preflight',
    index: base?.index ?? -1,
    test: () => true,
    action: { kind: 'direct', reply: UNREACHED },
    chain,
    timeoutMs: undefined,
    firstTokenTimeoutMs: undefined,
    idleTimeoutMs: undefined,
    modelRewrite: undefined,
    retry: undefined,
    fallbackOn: undefined,
    streamRecovery: 'error',
  }
}

/**
 * The listener's route table with CORS preflights answered by the cors filter: that of the rule
 * the preflight matches, else the listener's (a rule where `cors` is disabled gets the preflight
 * as any other request). The table itself when no chain has a cors filter.
 */
export function withCorsPreflight(table: RouteTable, listenerChain: CompiledChain): RouteTable {
  const byRoute = new Map<CompiledRoute, CompiledRoute>()
  for (const r of table.routes) {
    const answer = preflightOf(r.chain)
    if (answer !== undefined) byRoute.set(r, preflightRoute(r, corsName(r.chain, answer), answer))
  }
  const listenerAnswer = preflightOf(listenerChain)
  const fallback = listenerAnswer && preflightRoute(undefined, corsName(listenerChain, listenerAnswer), listenerAnswer)
  if (byRoute.size === 0 && fallback === undefined) return table
  return {
    name: table.name,
    routes: table.routes,
    ...(table.servesOtherIdentities && { servesOtherIdentities: table.servesOtherIdentities }),
    match(head: RequestHead): CompiledRoute | undefined {
      const route = table.match(head)
      if (head.method !== 'OPTIONS' || head.headers['access-control-request-method'] === undefined || head.headers.origin === undefined) return route
      return route === undefined ? fallback : byRoute.get(route) ?? route
    },
  }
}

function corsName(chain: CompiledChain, answer: unknown): string {
  return chain.onResponse.find((f) => (f as Partial<CorsFilter>)[ANSWER_PREFLIGHT] === answer)!.name
}
