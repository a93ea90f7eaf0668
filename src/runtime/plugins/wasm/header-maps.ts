/**
 * The proxy-wasm header maps over the request's own structures: HTTP_REQUEST_HEADERS is
 * ctx.headers (what goes upstream) behind the pseudo-headers `:method`, `:path`, `:authority`,
 * `:scheme`; HTTP_RESPONSE_HEADERS is ctx.responseHeaders behind `:status`. Pseudo-headers are
 * read-only except `:status`. Trailer maps are always empty (the gateway forwards no trailers).
 * Names are lower-cased; values with CR, LF or NUL are refused.
 */
import type { RequestContext } from '../../types.js'

export const MapType = { requestHeaders: 0, requestTrailers: 1, responseHeaders: 2, responseTrailers: 3 } as const

const BAD_VALUE = /[\r\n\0]/

/** Framing is the gateway's (uWS writes the length or the chunking): a plugin cannot set these on an answer. */
export const FRAMING_HEADERS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer'])

export type Pairs = [string, string][]

/** The map's pairs in order, pseudo-headers first; undefined for a map type the host does not know. */
export function pairsOf(ctx: RequestContext, map: number): Pairs | undefined {
  if (map === MapType.requestHeaders) {
    const h = ctx.head
    const out: Pairs = [[':method', h.method], [':path', h.query ? `${h.path}?${h.query}` : h.path], [':authority', ctx.headers.host ?? ''], [':scheme', 'http']]
    for (const k in ctx.headers) out.push([k, ctx.headers[k]])
    return out
  }
  if (map === MapType.responseHeaders) return [[':status', String(ctx.status)], ...ctx.responseHeaders]
  if (map === MapType.requestTrailers || map === MapType.responseTrailers) return []
  return undefined
}

export function valueOf(ctx: RequestContext, map: number, name: string): string | undefined {
  const key = name.toLowerCase()
  if (map === MapType.requestHeaders) {
    if (key.startsWith(':')) return pairsOf(ctx, map)!.find(([k]) => k === key)?.[1]
    return ctx.headers[key]
  }
  if (map === MapType.responseHeaders) {
    if (key === ':status') return String(ctx.status)
    const hit = ctx.responseHeaders.filter(([k]) => k === key)
    return hit.length === 0 ? undefined : hit.map(([, v]) => v).join(', ')
  }
  return undefined
}

export type MapEdit = 'replace' | 'add' | 'remove'

/** Applies one edit; false when the map type is unknown or the value is unsafe (BAD_ARGUMENT). */
export function editMap(ctx: RequestContext, map: number, edit: MapEdit, name: string, value: string): boolean {
  const key = name.toLowerCase()
  if (key === '' || BAD_VALUE.test(key) || BAD_VALUE.test(value)) return false
  if (map === MapType.requestTrailers || map === MapType.responseTrailers) return true
  if (map === MapType.requestHeaders) {
    if (key.startsWith(':')) return true // read-only: the route is already chosen
    const h = ctx.headers
    if (edit === 'remove') delete h[key]
    else if (edit === 'replace' || h[key] === undefined) h[key] = value
    else h[key] = `${h[key]}, ${value}`
    return true
  }
  if (map === MapType.responseHeaders) {
    if (key === ':status') {
      const s = Number(value)
      if (edit !== 'remove' && Number.isInteger(s) && s >= 200 && s <= 599) ctx.status = s
      return true
    }
    if (key.startsWith(':') || FRAMING_HEADERS.has(key)) return true
    if (edit !== 'add') ctx.responseHeaders = ctx.responseHeaders.filter(([k]) => k !== key)
    if (edit !== 'remove') ctx.responseHeaders.push([key, value])
    return true
  }
  return false
}

/** proxy_set_header_map_pairs: the map becomes exactly `pairs` (pseudo-headers as editMap treats them). */
export function replaceMap(ctx: RequestContext, map: number, pairs: Pairs): boolean {
  if (map === MapType.requestHeaders) {
    for (const k of Object.keys(ctx.headers)) delete ctx.headers[k]
  } else if (map === MapType.responseHeaders) {
    ctx.responseHeaders = []
  } else if (map !== MapType.requestTrailers && map !== MapType.responseTrailers) return false
  for (const [k, v] of pairs) if (!editMap(ctx, map, 'add', k, v)) return false
  return true
}

/** The spec's serialization: count, then (key length, value length) pairs, then each key and value NUL-terminated. */
export function serializePairs(pairs: Pairs): Uint8Array {
  const enc = pairs.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as const)
  let size = 4
  for (const [k, v] of enc) size += 8 + k.length + v.length + 2
  const out = Buffer.alloc(size)
  out.writeUInt32LE(enc.length, 0)
  let o = 4
  for (const [k, v] of enc) {
    out.writeUInt32LE(k.length, o)
    out.writeUInt32LE(v.length, o + 4)
    o += 8
  }
  for (const [k, v] of enc) {
    k.copy(out, o)
    o += k.length + 1
    v.copy(out, o)
    o += v.length + 1
  }
  return out
}

/** The inverse of serializePairs; undefined when the bytes do not hold a well-formed map. */
export function parsePairs(bytes: Uint8Array): Pairs | undefined {
  if (bytes.length === 0 || (bytes.length === 1 && bytes[0] === 0)) return []
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length < 4) return undefined
  const n = b.readUInt32LE(0)
  if (4 + n * 8 > b.length) return undefined
  const out: Pairs = []
  let o = 4 + n * 8
  for (let i = 0; i < n; i++) {
    const kl = b.readUInt32LE(4 + i * 8)
    const vl = b.readUInt32LE(8 + i * 8)
    if (o + kl + vl + 2 > b.length) return undefined
    const k = b.toString('utf8', o, o + kl)
    o += kl + 1
    const v = b.toString('utf8', o, o + vl)
    o += vl + 1
    out.push([k, v])
  }
  return out
}
