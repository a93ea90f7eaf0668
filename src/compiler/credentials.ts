/**
 * What in a config is a credential: header names that carry one, URL userinfo, secret-named keys.
 * The compiler uses this to list every secret value the runtime must scrub from what upstreams
 * send back (SnapshotIR.secrets), to mask literal credentials in the effective config shown at
 * /config, and to know where a bare `$NAME` is a mistaken reference. Nothing here runs on the
 * request path.
 */
import type { ClusterIR, FilterIR, RouteTableIR } from './ir.js'

export const MASK = '[redacted]'

/** Config keys whose string value is a credential wherever they appear. */
const SECRET_KEYS = /^(api_key|password|token|secret|authorization|access_key_id|secret_access_key|session_token)$/i

/** Header names that carry a credential: authorization, x-api-key, api-key, cookie, x-goog-api-key, … */
const CREDENTIAL_HEADER = /(auth|key|token|secret|password|passwd|cookie|credential)/i

export function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_HEADER.test(name)
}

/**
 * The forms in which a credential header's value may come back: the whole value, the part after an
 * auth scheme (`Bearer X` → X), a Basic pair decoded (and its password), each cookie's value.
 */
export function headerSecretForms(name: string, value: string): string[] {
  const out = [value]
  const m = /^([A-Za-z][\w-]*)\s+(\S.*)$/.exec(value)
  if (m) {
    out.push(m[2])
    if (m[1].toLowerCase() === 'basic') {
      const pair = Buffer.from(m[2], 'base64').toString('utf8')
      // Only a value that really is base64 of user:pass is worth listing.
      if (Buffer.from(pair, 'utf8').toString('base64').replace(/=+$/, '') === m[2].replace(/=+$/, '') && pair.includes(':')) {
        out.push(pair, pair.slice(pair.indexOf(':') + 1))
      }
    }
  }
  if (/cookie/i.test(name)) {
    for (const part of value.split(';')) {
      const i = part.indexOf('=')
      if (i >= 0) out.push(part.slice(i + 1).trim())
    }
  }
  return out.filter((s) => s !== '')
}

/** `scheme://user:pass@host/…` → `scheme://[redacted]@host/…`; any other string is returned as is. */
export function redactUrl(s: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#\\]*@/i.exec(s)
  return m ? `${m[1]}${MASK}@${s.slice(m[0].length)}` : s
}

export interface UrlCredentials {
  /** The URL as written with its userinfo masked: what logs, /clusters and errors show. */
  readonly display: string
  /** `Basic base64(user:password)`, userinfo percent-decoded. */
  readonly basicAuth: string
  /** Every form the credential may come back in. */
  readonly secrets: readonly string[]
}

/**
 * The userinfo of an endpoint URL, or undefined when it has none. undici's Pool (like
 * `URL.origin`) drops userinfo silently, so the compiler turns it into an explicit
 * `authorization: Basic …` header and the URL everyone sees loses it.
 */
export function urlCredentials(raw: string, url: URL): UrlCredentials | undefined {
  if (url.username === '' && url.password === '') return undefined
  let display = redactUrl(raw)
  if (display === raw) display = `${url.protocol}//${MASK}@${url.host}${url.pathname}${url.search}${url.hash}`
  const user = safeDecode(url.username)
  const password = safeDecode(url.password)
  const pair = `${user}:${password}`
  const b64 = Buffer.from(pair, 'utf8').toString('base64')
  const secrets = [pair, `${url.username}:${url.password}`, b64, `Basic ${b64}`]
  // Without a password the user name is the credential (token-as-user, as some APIs do).
  if (password !== '') secrets.push(password, url.password)
  else secrets.push(user, url.username)
  return { display, basicAuth: `Basic ${b64}`, secrets: [...new Set(secrets)].filter((s) => s !== '' && s !== ':') }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/**
 * Every resolved secret value the config holds, sorted and without duplicates (see
 * SnapshotIR.secrets): endpoint keys and URL credentials, AWS credentials, credential-like header
 * values (headers filters, per-rule filter overrides, health-check headers, route header matches),
 * secret-named keys in filter configs, and whatever a `${env:…}`/`${file:…}` reference resolved to.
 */
export function collectSecrets(
  parts: { readonly clusters: readonly ClusterIR[]; readonly filters: readonly FilterIR[]; readonly routeTables: readonly RouteTableIR[] },
  extra: Iterable<string>,
): string[] {
  const out = new Set<string>(extra)
  for (const c of parts.clusters) {
    for (const e of c.endpoints) if (e.apiKey) out.add(e.apiKey)
    for (const v of [c.bedrock.accessKeyId, c.bedrock.secretAccessKey, c.bedrock.sessionToken]) if (v) out.add(v)
    for (const [name, value] of Object.entries(c.healthCheck?.headers ?? {})) {
      if (isCredentialHeader(name)) for (const s of headerSecretForms(name, value)) out.add(s)
    }
  }
  for (const f of parts.filters) configSecrets(f.config, out)
  for (const t of parts.routeTables) {
    for (const r of t.rules) {
      for (const h of r.match.headers) {
        if (h.kind === 'exact' && h.value !== undefined && isCredentialHeader(h.name)) for (const s of headerSecretForms(h.name, h.value)) out.add(s)
      }
      for (const o of Object.values(r.filterOverrides)) if ('config' in o) configSecrets(o.config, out)
    }
  }
  out.delete('')
  return [...out].sort()
}

/** Secrets in a filter config: `{ name: <credential header>, value }` pairs and secret-named keys. */
function configSecrets(value: unknown, out: Set<string>): void {
  if (Array.isArray(value)) {
    for (const v of value) configSecrets(v, out)
    return
  }
  if (!value || typeof value !== 'object') return
  const o = value as Record<string, unknown>
  if (typeof o.name === 'string' && typeof o.value === 'string' && isCredentialHeader(o.name)) {
    for (const s of headerSecretForms(o.name, o.value)) out.add(s)
  }
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') {
      if (SECRET_KEYS.test(k)) out.add(v)
    } else configSecrets(v, out)
  }
}

const REF = /\$\{(env|file):[^}]*\}/g

/**
 * A value that only names secrets (`${env:KEY}`, `Bearer ${env:TOKEN}`, `session=${file:s}`) is
 * shown as written; anything else under a credential name is a literal and is masked.
 */
function maskLiteral(value: string): string {
  const rest = value.replace(REF, '')
  return rest !== value && /^[\w-]*[\s:=;,]*$/.test(rest) ? value : MASK
}

/**
 * The effective config for /config: literal values under secret-named keys, of credential-like
 * headers (`{ name: authorization, value: … }` in filters, `{ name, exact | regex }` in matches,
 * `headers:` maps) and URL userinfo are masked; `${env:…}`/`${file:…}` references stay as written.
 */
export function redactConfig(value: unknown, key = '', headerMap = false): unknown {
  if (typeof value === 'string') return SECRET_KEYS.test(key) ? maskLiteral(value) : redactUrl(value)
  if (Array.isArray(value)) return value.map((v) => redactConfig(v))
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(o)) {
      out[k] = typeof v === 'string' && credentialSlot(o, k, headerMap) ? maskLiteral(v) : redactConfig(v, k, k === 'headers' && !Array.isArray(v))
    }
    return out
  }
  return value
}

const PAIR_VALUE = new Set(['value', 'exact', 'regex'])

/**
 * Whether the string `o[k]` is a credential: under a secret-named key, the value of a
 * credential-like header pair (`{ name: authorization, value | exact | regex }`), or a
 * credential-like entry of a `headers:` map.
 */
function credentialSlot(o: Record<string, unknown>, k: string, headerMap: boolean): boolean {
  return SECRET_KEYS.test(k) || (headerMap && isCredentialHeader(k)) || (PAIR_VALUE.has(k) && typeof o.name === 'string' && isCredentialHeader(o.name))
}

/** Calls `visit` for every string in a plain config value, with its path and whether it holds a credential. */
export function forEachString(value: unknown, at: readonly (string | number)[], visit: (s: string, at: (string | number)[], credential: boolean) => void, headerMap = false): void {
  if (typeof value === 'string') visit(value, [...at], false)
  else if (Array.isArray(value)) value.forEach((v, i) => forEachString(v, [...at, i], visit))
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'string') visit(v, [...at, k], credentialSlot(o, k, headerMap))
      else forEachString(v, [...at, k], visit, k === 'headers' && !Array.isArray(v))
    }
  }
}
