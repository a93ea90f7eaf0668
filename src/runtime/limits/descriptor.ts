/**
 * Limit descriptors, in Envoy's spirit: a limit is keyed by any combination of tenant, key id,
 * model, route and header values. A descriptor compiles once into a function from request facts to
 * the state key, or to undefined when the request lacks one of the parts (then the limit does not
 * apply to it, as an Envoy descriptor whose entry cannot be filled is skipped).
 *
 * Key layout: `<prefix>{<tag>}:<limit name>[:<part value>…]`. The `{tag}` is a Redis Cluster hash
 * tag: the tenant whenever the descriptor names the tenant or the key (keys belong to one tenant),
 * so every limit and budget key of one tenant lands in one slot and one Lua call can check them all;
 * otherwise the first part's value, or the limit name for a limit with no parts (one global key).
 */
import { createHash } from 'node:crypto'
import type { KeyFn, RequestFacts } from './types.js'

export type DescriptorPart = 'tenant' | 'key' | 'model' | 'route' | { readonly header: string }

/** Values that need no escaping; anything else is percent-encoded so `{`, `}` and `:` cannot forge a key. */
const PLAIN = /^[A-Za-z0-9._\-/@+=]{1,64}$/
const MAX_ENCODED = 96
const MAX_TENANT_HEADS = 10_000

/** A request-supplied value made safe for a key: plain values as they are, others encoded, long ones hashed. */
export function encodeKeyPart(value: string): string {
  if (PLAIN.test(value)) return value
  const enc = encodeURIComponent(value).replace(/[!'()*~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  if (enc.length <= MAX_ENCODED) return enc.length === 0 ? '%' : enc
  // '#' never appears in an encoded value, so a hashed value cannot equal an encoded one.
  return '#' + createHash('sha256').update(value).digest('base64url').slice(0, 32)
}

type Getter = (f: RequestFacts) => string | undefined

function getterOf(part: DescriptorPart): Getter {
  if (part === 'tenant') return (f) => f.tenant
  if (part === 'key') return (f) => f.keyId
  if (part === 'model') return (f) => f.model
  if (part === 'route') return (f) => f.route
  const name = part.header.toLowerCase()
  return (f) => f.headers[name]
}

/**
 * Compiles a descriptor. `prefix` is the deployment's key prefix (e.g. `sy:`); it may not contain
 * braces, which would move the hash tag.
 *
 * @example
 * const keyOf = compileDescriptor('per-model', ['tenant', 'model'], 'sy:')
 * keyOf({ tenant: 'acme', model: 'gpt-4o', keyId: undefined, route: undefined, headers: {} })
 * // → 'sy:{acme}:per-model:gpt-4o'
 */
export function compileDescriptor(name: string, parts: readonly DescriptorPart[], prefix: string): KeyFn {
  if (/[{}]/.test(prefix)) throw new Error(`key prefix '${prefix}' may not contain '{' or '}'`)
  if (!PLAIN.test(name)) throw new Error(`limit name '${name}' must be 1-64 of [A-Za-z0-9._-/@+=]`)
  const seen = new Set<string>()
  for (const p of parts) {
    const id = typeof p === 'string' ? p : `header:${p.header.toLowerCase()}`
    if (seen.has(id)) throw new Error(`limit '${name}': descriptor names ${id} twice`)
    seen.add(id)
  }
  const head = `${prefix}{`
  const tail = `}:${name}`
  if (parts.length === 0) {
    const key = `${head}${name}${tail}`
    return () => key
  }
  const byTenant = seen.has('tenant') || seen.has('key')
  const rest = parts.filter((p) => !(byTenant && p === 'tenant')).map(getterOf)
  if (byTenant) {
    // Hot path: one closure, no arrays built per request. Tenants are few and named in config, so
    // each one's key head is built once (bounded all the same: a map is not a leak).
    const tenantHeads = new Map<string, string>()
    return (f) => {
      const tenant = f.tenant
      if (tenant === undefined) return undefined
      let key = tenantHeads.get(tenant)
      if (key === undefined) {
        if (tenantHeads.size >= MAX_TENANT_HEADS) tenantHeads.clear()
        tenantHeads.set(tenant, (key = head + encodeKeyPart(tenant) + tail))
      }
      for (let i = 0; i < rest.length; i++) {
        const v = rest[i](f)
        if (v === undefined) return undefined
        key += ':' + encodeKeyPart(v)
      }
      return key
    }
  }
  const [first, ...others] = rest
  return (f) => {
    const tag = first(f)
    if (tag === undefined) return undefined
    let key = head + encodeKeyPart(tag) + tail
    for (let i = 0; i < others.length; i++) {
      const v = others[i](f)
      if (v === undefined) return undefined
      key += ':' + encodeKeyPart(v)
    }
    return key
  }
}

/** The hash tag of a key built here (what Redis Cluster hashes): the text between the first `{` and the next `}`. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{')
  return key.slice(open + 1, key.indexOf('}', open + 1))
}
