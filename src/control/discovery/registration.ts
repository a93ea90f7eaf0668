/**
 * One endpoint registration as stored in etcd: key `<prefix><cluster>/<id>`, value JSON or YAML
 * `{ url, weight?, name? }`. Checked here, value by value, so one bad registration is reported at
 * `<key>:line:col` and dropped instead of rejecting the whole config; the compiler then resolves
 * the good ones like configured endpoints (URL, provider, positions).
 *
 * Registrations carry no credentials (an `api_key` is refused): anyone who can write a key could
 * otherwise make the gateway send a secret to a host of their choosing.
 */
import { LineCounter, parseDocument, isMap, type Node } from 'yaml'
import type { Diagnostic } from '../../compiler/diagnostics.js'
import type { DiscoveredEndpoint } from '../../compiler/ir.js'

const ID = /^[A-Za-z0-9._-]{1,64}$/
const FIELDS = new Set(['url', 'weight', 'name'])

export type ParsedRegistration = { readonly ok: true; readonly endpoint: DiscoveredEndpoint } | { readonly ok: false; readonly diagnostic: Diagnostic }

/** `id` is the key's last segment; it names the endpoint (`x-switchyard-endpoint`) unless the value does. */
export function parseRegistration(key: string, id: string, text: string): ParsedRegistration {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false })
  const fail = (node: Node | null | undefined, path: string, message: string): ParsedRegistration => {
    const { line, col } = lines.linePos(node?.range?.[0] ?? 0)
    return { ok: false, diagnostic: { code: 'SY_CFG_REGISTRATION', source: key, line, col, path, message } }
  }
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    const { line, col } = lines.linePos(e.pos[0])
    return { ok: false, diagnostic: { code: 'SY_CFG_REGISTRATION', source: key, line, col, path: '', message: `not JSON or YAML: ${e.message.split('\n')[0]}` } }
  }
  const root = doc.contents
  if (!isMap(root)) return fail(root as Node | null, '', 'must be an object { url, weight?, name? }')
  for (const pair of root.items) {
    const k = String((pair.key as { value?: unknown } | null)?.value ?? pair.key)
    if (k === 'api_key') return fail(pair.key as Node, k, 'a registration cannot carry credentials; set discovery.api_key on the cluster')
    if (!FIELDS.has(k)) return fail(pair.key as Node, k, `unknown field '${k}' (known: url, weight, name)`)
  }
  const node = (k: string) => root.get(k, true) as (Node & { value?: unknown }) | undefined
  const url = node('url')?.value
  if (typeof url !== 'string') return fail(node('url') ?? root, 'url', 'url is required: a string like http://10.0.0.5:8000/v1')
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return fail(node('url'), 'url', `invalid URL ${JSON.stringify(url)}`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return fail(node('url'), 'url', `must be an http(s) URL, got ${JSON.stringify(parsed.protocol)}`)
  if (parsed.username !== '' || parsed.password !== '') return fail(node('url'), 'url', 'a registration cannot carry credentials (userinfo in the URL)')
  const weight = node('weight')?.value ?? 1
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 1_000_000) return fail(node('weight'), 'weight', `must be an integer from 0 to 1000000, got ${JSON.stringify(weight)}`)
  const name = node('name')?.value ?? id
  if (typeof name !== 'string' || !ID.test(name)) return fail(node('name') ?? root, 'name', `must be 1–64 letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`)
  return { ok: true, endpoint: { key, url, weight, name } }
}

/** The value `switchyard endpoints register` writes. */
export function registrationValue(r: { readonly url: string; readonly weight?: number; readonly name?: string }): string {
  return JSON.stringify({ url: r.url, ...(r.weight !== undefined && { weight: r.weight }), ...(r.name !== undefined && { name: r.name }) })
}
