/**
 * The pure half of `switchyard keys create | list | revoke`: make a key record for a tenant, and
 * add, list or revoke records in a config YAML document. Edits go through yaml's Document API, so
 * the operator's comments, key order and formatting around the `keys:` list survive; the CLI only
 * reads and writes the file (or the etcd key) around these functions.
 *
 * A record holds the key's hash, never the key: createKeyRecord returns the plaintext once, for
 * the CLI to print once.
 *
 * @example
 * const { key, record } = createKeyRecord({ tenant: 'free', models: ['gpt-4o-mini'], expires: '90d' }, Date.now())
 * const doc = parseDocument(readFileSync(file, 'utf8'))
 * addKeyRecord(doc, record)
 * writeFileSync(file, doc.toString())
 * console.log(key)   // shown once
 */
import { isMap, isScalar, isSeq, YAMLMap, YAMLSeq, stringify, type Document } from 'yaml'
import { generateApiKey, hashApiKey } from './api-key-format.js'

/** A `keys:` entry as YAML holds it (snake_case, like all config). */
export interface KeyRecord {
  readonly id: string
  readonly tenant: string
  /** `sha256:<hex>` of the key. */
  readonly hash: string
  readonly models?: readonly string[]
  /** RFC 3339, UTC. */
  readonly expires_at?: string
  readonly disabled?: boolean
}

/** What `keys list` shows: the record without its hash. */
export interface KeyListing {
  readonly id: string
  readonly tenant: string
  readonly models: readonly string[] | null
  readonly expires_at: string | null
  readonly disabled: boolean
}

export interface NewKeyOptions {
  readonly tenant: string
  /** Default: a generated 12-character id. */
  readonly id?: string
  readonly models?: readonly string[]
  /** An RFC 3339 date or date-time (`2026-06-30`, `2026-06-30T12:00:00Z`), or a lifetime: `90d`, `12h`, `30m`. */
  readonly expires?: string
}

const LIFETIME_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `--expires` as an RFC 3339 UTC instant; throws with the accepted forms when it is neither. */
export function parseExpiry(text: string, nowMs: number): string {
  const life = /^([1-9][0-9]*)(m|h|d)$/.exec(text)
  if (life) return new Date(nowMs + Number(life[1]) * LIFETIME_MS[life[2]]).toISOString()
  const at = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text) ? Date.parse(text) : NaN
  if (!Number.isFinite(at)) throw new Error(`expiry ${JSON.stringify(text)}: expected a date (2026-06-30), a date-time (2026-06-30T12:00:00Z) or a lifetime (90d, 12h, 30m)`)
  if (at <= nowMs) throw new Error(`expiry ${JSON.stringify(text)} is in the past`)
  return new Date(at).toISOString()
}

/** A new key for `tenant`: the plaintext (print it once, store it nowhere) and the record to store. */
export function createKeyRecord(options: NewKeyOptions, nowMs: number): { readonly key: string; readonly record: KeyRecord } {
  if (options.tenant.trim() === '') throw new Error('a key needs a tenant')
  const { id, key } = generateApiKey(options.id)
  const record: KeyRecord = {
    id,
    tenant: options.tenant,
    hash: hashApiKey(key),
    ...(options.models && options.models.length > 0 && { models: [...options.models] }),
    ...(options.expires !== undefined && { expires_at: parseExpiry(options.expires, nowMs) }),
  }
  return { key, record }
}

function keysSeq(doc: Document, create: boolean): YAMLSeq | undefined {
  if (doc.contents === null && create) doc.contents = doc.createNode({}) as never
  if (!isMap(doc.contents)) {
    if (!create) return undefined
    throw new Error('the document is not a mapping; cannot add a keys: list to it')
  }
  const seq = doc.contents.get('keys', true)
  // `keys:` with nothing after it is a null scalar: the same as no list yet.
  if (seq === undefined || (isScalar(seq) && seq.value === null)) {
    if (!create) return undefined
    const fresh = new YAMLSeq()
    doc.contents.set('keys', fresh)
    return fresh
  }
  if (!isSeq(seq)) throw new Error('keys: is not a list')
  return seq
}

function entryOf(seq: YAMLSeq, id: string): YAMLMap | undefined {
  for (const item of seq.items) if (isMap(item) && item.get('id') === id) return item
  return undefined
}

/** Appends `record` to the document's `keys:` list (creating it); throws if its id is taken. */
export function addKeyRecord(doc: Document, record: KeyRecord): void {
  if (record.id.trim() === '') throw new Error('a key record needs an id')
  const seq = keysSeq(doc, true)!
  if (entryOf(seq, record.id)) throw new Error(`key id '${record.id}' is already in keys:`)
  const node = doc.createNode({ ...record }) as YAMLMap
  // Lists of models read best inline, as the examples write them.
  const models = node.get('models', true)
  if (isSeq(models)) models.flow = true
  seq.items.push(node)
}

/**
 * Marks key `id` disabled (kept in the list so logs and the admin API can still name it).
 * 'unknown' when there is no such key, 'already' when it was disabled before.
 */
export function revokeKeyRecord(doc: Document, id: string): 'revoked' | 'already' | 'unknown' {
  const seq = keysSeq(doc, false)
  const entry = seq && entryOf(seq, id)
  if (!entry) return 'unknown'
  if (entry.get('disabled') === true) return 'already'
  entry.set('disabled', true)
  return 'revoked'
}

/** Deletes key `id` from the list; false when there is none. */
export function removeKeyRecord(doc: Document, id: string): boolean {
  const seq = keysSeq(doc, false)
  if (!seq) return false
  const i = seq.items.findIndex((item) => isMap(item) && item.get('id') === id)
  if (i < 0) return false
  seq.items.splice(i, 1)
  return true
}

/** The document's keys without their hashes, in file order. */
export function listKeyRecords(doc: Document): KeyListing[] {
  const seq = keysSeq(doc, false)
  if (!seq) return []
  return seq.items.filter(isMap).map((item) => {
    const r = item.toJSON() as Partial<KeyRecord>
    return {
      id: String(r.id),
      tenant: String(r.tenant),
      models: Array.isArray(r.models) ? r.models.map(String) : null,
      expires_at: typeof r.expires_at === 'string' ? r.expires_at : null,
      disabled: r.disabled === true,
    }
  })
}

/** One record as the YAML of one etcd value (`<prefix>keys/<id>`). */
export function keyRecordYaml(record: KeyRecord): string {
  return stringify(record, { flowCollectionPadding: false })
}
