/**
 * The Switchyard API key format: `sy-<id>_<secret><check>`, for example
 * `sy-k7f2m9q4x1ab_Vq3…(32 chars)…Zc01aB`.
 *
 * - `sy-` makes a leaked key recognisable to secret scanners and to people.
 * - `<id>` is the key's public id (what `keys revoke ID`, logs and the admin API name), so a
 *   failed or revoked key can be named without showing any of its secret.
 * - `<secret>` is 32 base62 characters from the CSPRNG (~190 bits).
 * - `<check>` is the CRC32 of everything before it, in 6 base62 characters: a typo or a truncated
 *   paste is refused offline, before any hashing or lookup (GitHub's token format does the same).
 *   It is not a security measure; the secret is.
 *
 * Config stores only `sha256:<hex>` of the whole key. A plain SHA-256 (no salt, no slow hash) is
 * enough because the secret is random and long: there is no dictionary to try. Keys that are not in
 * this format (imported from another system) are accepted as opaque strings and hashed the same way.
 *
 * In src/shared because the CLI (`keys create`), the compiler (hashing a `${env:…}` key once) and the
 * runtime key table all need the same format.
 */
import { createHash, randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'

export const API_KEY_PREFIX = 'sy-'
const SECRET_LENGTH = 32
const CHECK_LENGTH = 6
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const BASE62_RE = /^[0-9A-Za-z]+$/
/** Key ids: lower-case letters, digits and inner hyphens, 1–40 characters (they appear in the key itself). */
export const KEY_ID_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/
const HASH_RE = /^sha256:[0-9a-f]{64}$/i
/** Longer credentials are refused unread: no real key is near this, and hashing a 16 kB header costs. */
export const MAX_CREDENTIAL_LENGTH = 512

/** `n` characters drawn uniformly from base62 (rejection sampling: bytes ≥ 248 would bias the alphabet). */
function randomBase62(n: number): string {
  let out = ''
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 248) out += BASE62[b % 62]
      if (out.length === n) break
    }
  }
  return out
}

function base62Fixed(value: number, width: number): string {
  let s = ''
  for (let v = value; v > 0; v = Math.floor(v / 62)) s = BASE62[v % 62] + s
  return s.padStart(width, '0')
}

function checkOf(head: string): string {
  return base62Fixed(crc32(head), CHECK_LENGTH)
}

/** A fresh key id: 12 characters of [a-z0-9] (62 bits, so two generated ids never collide in practice). */
export function generateKeyId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  let id = ''
  while (id.length < 12) for (const b of randomBytes(16)) if (b < 252 && id.length < 12) id += alphabet[b % 36]
  return id
}

/**
 * A new key for `id` (generated when omitted). The plaintext is returned once, to be shown once;
 * store only `hashApiKey(key)`.
 */
export function generateApiKey(id: string = generateKeyId()): { readonly id: string; readonly key: string } {
  if (!KEY_ID_RE.test(id)) throw new Error(`key id ${JSON.stringify(id)} must be 1-40 lower-case letters, digits or inner hyphens`)
  const head = `${API_KEY_PREFIX}${id}_${randomBase62(SECRET_LENGTH)}`
  return { id, key: head + checkOf(head) }
}

export type ParsedApiKey =
  | { readonly kind: 'switchyard'; readonly id: string }
  /** Not in our format: an imported key, looked up by hash like any other. */
  | { readonly kind: 'opaque' }
  /** Has our prefix but cannot be one of our keys: wrong length, characters or checksum (a typo). */
  | { readonly kind: 'invalid'; readonly problem: 'too_long' | 'malformed' | 'checksum' }

/** What a presented credential is, decided offline (no lookup). */
export function parseApiKey(text: string): ParsedApiKey {
  if (text.length > MAX_CREDENTIAL_LENGTH) return { kind: 'invalid', problem: 'too_long' }
  if (!text.startsWith(API_KEY_PREFIX)) return { kind: 'opaque' }
  const sep = text.lastIndexOf('_')
  const id = text.slice(API_KEY_PREFIX.length, sep)
  const body = text.slice(sep + 1)
  if (sep < 0 || body.length !== SECRET_LENGTH + CHECK_LENGTH || !BASE62_RE.test(body) || !KEY_ID_RE.test(id)) {
    return { kind: 'invalid', problem: 'malformed' }
  }
  const cut = text.length - CHECK_LENGTH
  if (checkOf(text.slice(0, cut)) !== text.slice(cut)) return { kind: 'invalid', problem: 'checksum' }
  return { kind: 'switchyard', id }
}

/** SHA-256 of the whole key, as the key table indexes it. */
export function apiKeyDigest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest()
}

/** `sha256:<hex>`, the only form in which a key is written to config. */
export function hashApiKey(key: string): string {
  return `sha256:${apiKeyDigest(key).toString('hex')}`
}

/** The 32-byte digest in a `sha256:<hex>` string, or undefined when it is not one. */
export function parseKeyHash(hash: string): Buffer | undefined {
  return HASH_RE.test(hash) ? Buffer.from(hash.slice(7), 'hex') : undefined
}

/** How a credential may be named in a log line: our key by its public id, anything else by its length only. */
export function describeCredential(text: string): string {
  const parsed = parseApiKey(text)
  return parsed.kind === 'switchyard' ? `${API_KEY_PREFIX}${parsed.id}_…` : `(${parsed.kind === 'opaque' ? 'opaque' : 'invalid'} credential, ${text.length} chars)`
}
