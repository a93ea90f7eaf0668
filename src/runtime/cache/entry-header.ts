/**
 * The stored entry's header (entry.ts): written and read without the answer, so invalidation and
 * the admin view need nothing of the translation hub.
 */
/** As key.ts CacheOperation (not imported: key.ts reaches the translation hub, and this must not). */
type CacheOperation = 'chat' | 'messages' | 'embeddings' | 'responses'

/** The header: cheap to read without the answer (admin invalidation, expiry of a copy). */
export interface EntryMeta {
  /** Format version: an entry of another version is treated as absent. */
  readonly v: 2
  /** When it was stored (ms since the epoch): its age on a hit. */
  readonly storedAt: number
  /** When it stops being served (ms since the epoch): a copy taken from Redis into memory keeps it. */
  readonly expiresAt: number
  /** The route and tenant that filled it (admin counts and invalidation). */
  readonly route: string
  readonly tenant: string
  readonly op: CacheOperation
  /** The bytes are an SSE stream (else a whole JSON body). */
  readonly streamed: boolean
}

const OPS: readonly CacheOperation[] = ['chat', 'messages', 'embeddings', 'responses']
/**
 * Header layout: u8 version (2), u8 operation (index in OPS), u8 streamed, u8 0, f64 storedAt,
 * f64 expiresAt, u16 route bytes, u16 tenant bytes (all little-endian), route, tenant, answer.
 */
export const HEAD = 24

/**
 * The stored form. A short-lived Buffer (the memory tier copies it into its shared buffer; Redis
 * and single-flight waiters are done with it within the request), so Node's pool may hold it.
 * `body` is the answer's bytes in the pieces they were captured in, `size` their total: copied
 * once, straight into the entry (no concatenation first). undefined for a route or tenant name
 * over 64 KiB (not kept).
 */
export function encodeEntry(meta: EntryMeta, body: readonly Buffer[], size: number): Buffer | undefined {
  const routeBytes = Buffer.byteLength(meta.route)
  const tenantBytes = Buffer.byteLength(meta.tenant)
  if (routeBytes > 0xffff || tenantBytes > 0xffff) return undefined
  const at = HEAD + routeBytes + tenantBytes
  const out = Buffer.allocUnsafe(at + size)
  out[0] = 2
  out[1] = OPS.indexOf(meta.op)
  out[2] = meta.streamed ? 1 : 0
  out[3] = 0
  out.writeDoubleLE(meta.storedAt, 4)
  out.writeDoubleLE(meta.expiresAt, 12)
  out.writeUInt16LE(routeBytes, 20)
  out.writeUInt16LE(tenantBytes, 22)
  out.write(meta.route, HEAD, 'utf8')
  out.write(meta.tenant, HEAD + routeBytes, 'utf8')
  let o = at
  for (let i = 0; i < body.length; i++) o += body[i].copy(out, o)
  return out
}

/** When the entry stops being served (ms since the epoch), read from its header alone; 0 for anything that is not an entry. */
export function entryExpiresAt(b: Buffer): number {
  return b.length >= HEAD && b[0] === 2 ? b.readDoubleLE(12) : 0
}

/** The header alone, without reading the answer; undefined for anything that is not an entry of this version. */
export function entryMeta(b: Buffer): EntryMeta | undefined {
  if (b.length < HEAD || b[0] !== 2 || b[1] >= OPS.length || b[2] > 1) return undefined
  const routeBytes = b.readUInt16LE(20)
  const tenantBytes = b.readUInt16LE(22)
  if (HEAD + routeBytes + tenantBytes > b.length) return undefined
  return {
    v: 2,
    op: OPS[b[1]],
    streamed: b[2] === 1,
    storedAt: b.readDoubleLE(4),
    expiresAt: b.readDoubleLE(12),
    route: b.toString('utf8', HEAD, HEAD + routeBytes),
    tenant: b.toString('utf8', HEAD + routeBytes, HEAD + routeBytes + tenantBytes),
  }
}

/** Cheap reads for admin invalidation, without reading the answer. */
export function entryOwner(b: Buffer): { route: string; tenant: string } | undefined {
  return entryMeta(b)
}
