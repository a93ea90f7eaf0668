/**
 * The compiled API key table: built once per snapshot from plain key entries (the `keys` kind as
 * the compiler hands it over: id, tenant, `sha256:<hex>` hash, models, expiry, disabled), then
 * asked per request "who is this credential?".
 *
 * A request costs one offline format check, one SHA-256 of the presented key and one Map lookup;
 * an accepted key allocates only the digest and its hex (its verdict is prebuilt). Hashes stay
 * inside the table: `describe()`, `get()` and the verdicts carry ids, tenants and models only, so
 * admin output and logs cannot leak them.
 *
 * @example
 * const table = compileKeyTable([{ id: 'ci', tenant: 'free', hash: 'sha256:9f86…', models: ['gpt-4o*'] }])
 * const v = table.verify(credential, Date.now())
 * if (!v.ok) return unauthenticated   // v.reason says why, for the log and the failure counter
 * v.key.tenant                        // 'free'
 */
import { timingSafeEqual } from 'node:crypto'
import { apiKeyDigest, parseApiKey, parseKeyHash } from '../../shared/api-key-format.js'
import { compileModelAccess, type ModelAccess } from './model-access.js'

/** One key as config declares it (camelCase IR; the secret only as its hash). */
export interface KeyEntry {
  readonly id: string
  readonly tenant: string
  /** `sha256:<64 hex>` of the whole key. */
  readonly hash: string
  /** Models this key may use (exact names or globs), narrowing its tenant's; undefined: the tenant's. */
  readonly models?: readonly string[]
  /** RFC 3339 instant after which the key is refused. */
  readonly expiresAt?: string
  /** A revoked key stays listed (so logs and the admin API can name it) but is refused. */
  readonly disabled?: boolean
}

/** A key as the request path and the admin API see it: never its hash. */
export interface CompiledKey {
  readonly id: string
  readonly tenant: string
  readonly models: ModelAccess | undefined
  readonly expiresAtMs: number | undefined
  readonly disabled: boolean
}

export type KeyRefusal =
  /** Our prefix but not our format, or longer than any key: refused without hashing. */
  | 'malformed'
  /** Our format with a wrong checksum: a typo, refused without hashing. */
  | 'checksum'
  | 'unknown'
  | 'expired'
  | 'disabled'

export type KeyVerdict =
  | { readonly ok: true; readonly key: CompiledKey }
  /** `keyId`: the id of the key refused, when known (from the table, or from the presented key's text). */
  | { readonly ok: false; readonly reason: KeyRefusal; readonly keyId?: string }

/** What admin endpoints print for a key (snake_case like the rest of the admin API). */
export interface KeyDescription {
  readonly id: string
  readonly tenant: string
  readonly models: readonly string[] | null
  readonly expires_at: string | null
  readonly state: 'active' | 'expired' | 'disabled'
}

export interface KeyTable {
  readonly size: number
  /** Hot path: the verdict for a presented credential at `nowMs`. */
  verify(credential: string, nowMs: number): KeyVerdict
  get(id: string): CompiledKey | undefined
  describe(nowMs: number): KeyDescription[]
}

/** Every problem in a key list at once, as `keys[i]: message` lines (the compiler adds file positions). */
export class KeyTableError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid key table:\n  ${problems.join('\n  ')}`)
  }
}

/** Verified keys remembered per table; past this the memory starts afresh (a table rarely has more keys). */
const VERIFIED_CACHE_LIMIT = 10_000

interface Slot {
  readonly digest: Buffer
  readonly key: CompiledKey
  readonly accepted: KeyVerdict
}

/** Builds the table; throws KeyTableError listing every bad or duplicate entry. */
export function compileKeyTable(entries: readonly KeyEntry[]): KeyTable {
  const problems: string[] = []
  const byHash = new Map<string, Slot>()
  const byId = new Map<string, CompiledKey>()
  const firstIndex = new Map<string, number>()
  entries.forEach((e, i) => {
    const at = `keys[${i}] (id '${e.id}')`
    const digest = parseKeyHash(e.hash)
    if (!digest) problems.push(`${at}: hash must be sha256:<64 hex digits>`)
    let expiresAtMs: number | undefined
    if (e.expiresAt !== undefined) {
      expiresAtMs = Date.parse(e.expiresAt)
      if (!Number.isFinite(expiresAtMs)) problems.push(`${at}: expires_at ${JSON.stringify(e.expiresAt)} is not an RFC 3339 date-time`)
    }
    const prior = firstIndex.get(e.id)
    if (prior !== undefined) problems.push(`${at}: duplicate key id (first at keys[${prior}])`)
    else firstIndex.set(e.id, i)
    if (!digest) return
    const hex = digest.toString('hex')
    const same = byHash.get(hex)
    // Never print the hash, even here: a duplicate is named by the ids that share it.
    if (same) problems.push(`${at}: same secret as key '${same.key.id}'`)
    const key: CompiledKey = Object.freeze({
      id: e.id,
      tenant: e.tenant,
      models: e.models === undefined ? undefined : compileModelAccess(e.models),
      expiresAtMs,
      disabled: e.disabled === true,
    })
    if (!same) byHash.set(hex, Object.freeze({ digest, key, accepted: Object.freeze({ ok: true as const, key }) }))
    if (prior === undefined) byId.set(e.id, key)
  })
  if (problems.length > 0) throw new KeyTableError(problems)

  const stateOf = (k: CompiledKey, nowMs: number): KeyDescription['state'] =>
    k.disabled ? 'disabled' : k.expiresAtMs !== undefined && nowMs >= k.expiresAtMs ? 'expired' : 'active'

  // Keys that verified, by their text: a caller presents the same key on every request, and the
  // parse, checksum and SHA-256 cost more than the rest of authentication together. Only accepted
  // keys are remembered (guesses cannot fill it), for this table's life (a reload that revokes a key
  // builds a new table), and the entry's state is checked again on every use. A string-keyed Map
  // compares a seeded hash first, so no guess is compared byte by byte against a remembered key
  // unless it already collides with it on a hash the attacker cannot see.
  const verified = new Map<string, Slot>()
  const remember = (credential: string, slot: Slot) => {
    if (verified.size >= VERIFIED_CACHE_LIMIT) verified.clear()
    verified.set(credential, slot)
  }
  const admit = (slot: Slot, nowMs: number): KeyVerdict => {
    const key = slot.key
    if (key.disabled) return { ok: false, reason: 'disabled', keyId: key.id }
    if (key.expiresAtMs !== undefined && nowMs >= key.expiresAtMs) return { ok: false, reason: 'expired', keyId: key.id }
    return slot.accepted
  }

  return {
    size: byId.size,
    verify(credential, nowMs) {
      const known = verified.get(credential)
      if (known !== undefined) return admit(known, nowMs)
      const parsed = parseApiKey(credential)
      if (parsed.kind === 'invalid') return { ok: false, reason: parsed.problem === 'checksum' ? 'checksum' : 'malformed' }
      const digest = apiKeyDigest(credential)
      const slot = byHash.get(digest.toString('hex'))
      // The Map lookup's timing depends only on the digest, which says nothing about the secret
      // (SHA-256 is one-way); the full comparison is still constant-time, so no variant of this
      // table (a prefix index, a shorter key) can turn into a byte-at-a-time oracle.
      if (slot === undefined || !timingSafeEqual(slot.digest, digest)) {
        return parsed.kind === 'switchyard' ? { ok: false, reason: 'unknown', keyId: parsed.id } : { ok: false, reason: 'unknown' }
      }
      remember(credential, slot)
      return admit(slot, nowMs)
    },
    get: (id) => byId.get(id),
    describe: (nowMs) =>
      [...byId.values()].map((k) => ({
        id: k.id,
        tenant: k.tenant,
        models: k.models ? k.models.patterns : null,
        expires_at: k.expiresAtMs === undefined ? null : new Date(k.expiresAtMs).toISOString(),
        state: stateOf(k, nowMs),
      })),
  }
}
