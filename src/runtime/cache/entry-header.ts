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

/** An entry to store: its header fields and the answer's bytes in the pieces they were captured in, `size` their total. */
export interface EntryDraft extends EntryMeta {
  readonly body: readonly Buffer[]
  readonly size: number
}

/** The encoded entry's length in bytes; -1 for a route or tenant name over 64 KiB (not kept). */
export function entrySize(d: EntryDraft): number {
  const routeBytes = utf8Length(d.route)
  const tenantBytes = utf8Length(d.tenant)
  return routeBytes > 0xffff || tenantBytes > 0xffff ? -1 : HEAD + routeBytes + tenantBytes + d.size
}

/**
 * Encodes `d` into `out` at `at`, where entrySize(d) bytes are free: into a Buffer of its own
 * (encodeEntry) or straight into the memory tier's shared buffer (MemoryTier.setWith), so a stored
 * answer is copied once. Never writes past at + entrySize(d), whatever the pieces hold: the bytes
 * after it are another record's.
 */
export function writeEntry(out: Buffer, at: number, d: EntryDraft): void {
  const end = at + entrySize(d)
  out[at] = 2
  out[at + 1] = OPS.indexOf(d.op)
  out[at + 2] = d.streamed ? 1 : 0
  out[at + 3] = 0
  out.writeDoubleLE(d.storedAt, at + 4)
  out.writeDoubleLE(d.expiresAt, at + 12)
  const routeBytes = writeName(out, at + HEAD, d.route)
  const tenantBytes = writeName(out, at + HEAD + routeBytes, d.tenant)
  out.writeUInt16LE(routeBytes, at + 20)
  out.writeUInt16LE(tenantBytes, at + 22)
  let o = at + HEAD + routeBytes + tenantBytes
  const body = d.body
  for (let i = 0; i < body.length && o < end; i++) o += body[i].copy(out, o, 0, Math.min(body[i].length, end - o))
}

/*
 * Route and tenant names are short and mostly ASCII: a loop over their characters costs less than
 * Buffer's native calls (a few per stored entry). Anything else goes through Buffer as UTF-8.
 */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s)
  return s.length
}

function writeName(out: Buffer, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c > 0x7f) return out.write(s, at, 'utf8')
    out[at + i] = c
  }
  return s.length
}

/**
 * The stored form in a Buffer of its own: for Redis and single-flight waiters, which are done with
 * it within the request (so Node's pool may hold it). The memory tier is written in place
 * (writeEntry). undefined for a route or tenant name over 64 KiB (not kept).
 */
export function encodeEntry(d: EntryDraft): Buffer | undefined {
  const n = entrySize(d)
  if (n < 0) return undefined
  const out = Buffer.allocUnsafe(n)
  writeEntry(out, 0, d)
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
