/**
 * `headers` filter: remove, set and add headers on the upstream request and on the client
 * response. Config is validated by schemas/filters/headers.schema.json; names are lower-cased
 * here, once per snapshot.
 *
 * @example
 * filters:
 *   - name: tag
 *     type: headers
 *     config:
 *       request:  { set: [{ name: x-team, value: search }], remove: [x-debug] }
 *       response: { add: [{ name: x-served-by, value: switchyard }] }
 */
import type { Filter, FilterDeps, RequestContext } from '../types.js'

interface HeaderKV { name: string; value: string }
interface Ops { add?: HeaderKV[]; set?: HeaderKV[]; remove?: string[] }
export interface HeadersConfig { request?: Ops; response?: Ops }

interface CompiledOps {
  remove: string[]
  set: [string, string][]
  add: [string, string][]
  /** Response side: names removed or replaced, so existing values go first. */
  drop: Set<string>
}

function compileOps(ops: Ops | undefined): CompiledOps | undefined {
  if (!ops) return undefined
  const c: CompiledOps = {
    remove: (ops.remove ?? []).map((n) => n.toLowerCase()),
    set: (ops.set ?? []).map((h) => [h.name.toLowerCase(), h.value]),
    add: (ops.add ?? []).map((h) => [h.name.toLowerCase(), h.value]),
    drop: new Set<string>(),
  }
  for (const n of c.remove) c.drop.add(n)
  for (const [n] of c.set) c.drop.add(n)
  for (const [name, value] of [...c.set, ...c.add]) {
    if (/[\r\n\0]/.test(value)) throw new Error(`header '${name}': value must not contain CR, LF or NUL`)
  }
  return c.remove.length + c.set.length + c.add.length > 0 ? c : undefined
}

export function create(config: HeadersConfig, _deps: FilterDeps): Filter {
  const req = compileOps(config.request)
  const res = compileOps(config.response)
  const filter: { -readonly [K in keyof Filter]: Filter[K] } = { name: 'headers' }
  if (req) {
    filter.onRequest = (ctx: RequestContext) => {
      const h = ctx.headers
      for (const n of req.remove) delete h[n]
      for (const [n, v] of req.set) h[n] = v
      // Header maps hold one string per name; appending follows RFC 9110's comma-joined form.
      for (const [n, v] of req.add) h[n] = h[n] === undefined ? v : `${h[n]}, ${v}`
    }
  }
  if (res) {
    filter.onResponse = (ctx: RequestContext) => {
      let list = ctx.responseHeaders
      const drop = res.drop
      if (drop.size > 0) list = list.filter(([n]) => !drop.has(n.toLowerCase()))
      for (const kv of res.set) list.push([kv[0], kv[1]])
      for (const kv of res.add) list.push([kv[0], kv[1]])
      ctx.responseHeaders = list
    }
  }
  return filter
}
