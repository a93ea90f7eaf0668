/**
 * JSON Schema → Gemini `Schema` (an OpenAPI 3.0 subset). Gemini answers 400 on keywords it does
 * not know (`additionalProperties`, `$schema`, `const`…), so only the documented subset passes.
 * `type: ["string", "null"]` becomes `type: "string", nullable: true`; local `$ref`s into
 * `$defs`/`definitions` are inlined (cycles stop at a plain object).
 */
import type { JsonObject } from './types.js'

const KEEP = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required',
  'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering',
  'default', 'items', 'minimum', 'maximum',
])

export function toGeminiSchema(schema: unknown): JsonObject {
  const root = (schema && typeof schema === 'object' ? schema : {}) as JsonObject
  const defs = { ...(root.definitions as JsonObject | undefined), ...(root.$defs as JsonObject | undefined) }
  return convert(root, defs, new Set()) as JsonObject
}

function resolveRef(ref: string, defs: JsonObject): unknown {
  const m = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref)
  return m ? defs[decodeURIComponent(m[1]!)] : undefined
}

function convert(node: unknown, defs: JsonObject, seen: Set<string>): unknown {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return node
  let s = node as JsonObject
  if (typeof s.$ref === 'string') {
    const ref = s.$ref
    const target = resolveRef(ref, defs)
    if (!target || seen.has(ref)) return { type: 'object' }
    seen = new Set(seen).add(ref)
    s = { ...(target as JsonObject), ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== '$ref')) }
  }
  const out: JsonObject = {}
  for (const [k, v] of Object.entries(s)) {
    if (k === 'const') {
      out.enum = [v]
      continue
    }
    if (k === 'oneOf') {
      if (!Array.isArray(v)) continue
      out.anyOf = (v as unknown[]).map((x) => convert(x, defs, seen))
      continue
    }
    if (!KEEP.has(k)) continue
    if (k === 'type' && Array.isArray(v)) {
      const types = v.filter((t) => t !== 'null')
      if (types.length !== v.length) out.nullable = true
      if (types.length === 1) out.type = types[0]
      else if (types.length > 1) out.anyOf = types.map((t) => ({ type: t }))
      continue
    }
    if (k === 'properties' && v && typeof v === 'object') {
      const props: JsonObject = {}
      for (const [pk, pv] of Object.entries(v as JsonObject)) props[pk] = convert(pv, defs, seen)
      out.properties = props
    } else if (k === 'items') {
      out.items = convert(v, defs, seen)
    } else if (k === 'anyOf' && Array.isArray(v)) {
      out.anyOf = v.map((x) => convert(x, defs, seen))
    } else {
      out[k] = v
    }
  }
  // Gemini only allows enum on strings.
  if (Array.isArray(out.enum)) {
    out.enum = out.enum.map(String)
    out.type = 'string'
  }
  return out
}
