/**
 * The semantic index's entries in Redis, so a restarted or new host warms its index from what any
 * host stored: one key per entry, `<key_prefix>cache:semantic:<namespace hash>:<answer key>`, with
 * Redis's own TTL (the answer's), holding the scope, the answer's exact-cache key, its expiry and
 * the vector (float32, little-endian). The answers themselves are the exact tier's
 * (`<key_prefix>cache:<answer key>`, redis-tier.ts).
 *
 * Like the exact tier it never fails a request: writes go out in the background and a failure is
 * dropped; a warm-up that cannot reach Redis loads what it got and stops.
 */
import { hash } from 'node:crypto'
import type { RedisConnection } from '../../limits/redis-connection.js'

const FORMAT = 1
/** Keys fetched per SCAN round (and per pipelined batch of GETs). */
const SCAN_COUNT = 500
/** How long a warm-up waits for a connection that is still being made. */
const READY_WAIT_MS = 5000

export interface StoredVector {
  readonly scope: string
  readonly key: string
  readonly expiresAt: number
  readonly vector: Float32Array
}

export class RedisVectors {
  failures = 0
  private readonly base: string

  constructor(private readonly redis: RedisConnection, prefix: string, namespace: string) {
    // A hash: a namespace may hold characters SCAN's MATCH would read as a pattern.
    this.base = `${prefix}cache:semantic:${hash('sha256', namespace, 'base64url').slice(0, 16)}:`
  }

  /** False for a lazy connection nobody has used (the compiler's dry build): it is never woken for a warm-up. */
  get live(): boolean {
    return this.redis.client.status !== 'wait'
  }

  keyOf(answerKey: string): string {
    return this.base + answerKey
  }

  /** Stores in the background; the caller never waits for Redis. */
  set(v: StoredVector): void {
    const ttl = Math.round(v.expiresAt - Date.now())
    if (ttl <= 0) return
    const value = encodeVector(v)
    this.redis.run((c) => c.set(this.keyOf(v.key), value, 'PX', ttl)).catch(() => this.failures++)
  }

  /**
   * Every stored entry of this namespace, handed to `take` until it returns false (the index is
   * full) or the keys run out. Each SCAN round and each batch of GETs is one call under the
   * connection's command timeout; a failure ends the warm-up with what was loaded.
   */
  async warm(take: (v: StoredVector) => boolean): Promise<number> {
    let loaded = 0
    try {
      const client = this.redis.client
      // A worker's connection may still be connecting when its first snapshot is built.
      if (client.status !== 'ready') await readyWithin(client, READY_WAIT_MS)
      // A Redis Cluster is scanned node by node (SCAN sees one node's keys).
      const nodes = 'nodes' in client && typeof client.nodes === 'function' ? client.nodes('master') : [client]
      for (const node of nodes) {
        let cursor = '0'
        do {
          const [next, keys] = await this.redis.run(() => node.scan(cursor, 'MATCH', `${this.base}*`, 'COUNT', SCAN_COUNT))
          cursor = next
          if (keys.length === 0) continue
          const values = await this.redis.run(() => {
            const p = node.pipeline()
            for (const k of keys) p.getBuffer(k)
            return p.exec()
          })
          for (const [err, value] of values ?? []) {
            if (err !== null || !Buffer.isBuffer(value)) continue
            const v = decodeVector(value)
            if (v === undefined) continue
            loaded++
            if (!take(v)) return loaded
          }
        } while (cursor !== '0')
      }
    } catch {
      this.failures++
    }
    return loaded
  }
}

/** Resolves when the client is ready; rejects after `ms` (the warm-up then counts a failure and is tried again later). */
function readyWithin(client: RedisConnection['client'], ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady)
      reject(new Error('redis not ready'))
    }, ms)
    const onReady = () => {
      clearTimeout(timer)
      resolve()
    }
    client.once('ready', onReady)
  })
}

/** [format][u32 header length][header JSON][float32 LE vector] */
export function encodeVector(v: StoredVector): Buffer {
  const header = Buffer.from(JSON.stringify({ s: v.scope, k: v.key, e: v.expiresAt }))
  const out = Buffer.allocUnsafe(5 + header.length + v.vector.length * 4)
  out[0] = FORMAT
  out.writeUInt32LE(header.length, 1)
  header.copy(out, 5)
  let o = 5 + header.length
  for (let i = 0; i < v.vector.length; i++, o += 4) out.writeFloatLE(v.vector[i], o)
  return out
}

/** undefined for anything that is not an entry of this format. */
export function decodeVector(b: Buffer): StoredVector | undefined {
  try {
    if (b.length < 5 || b[0] !== FORMAT) return undefined
    const n = b.readUInt32LE(1)
    const h = JSON.parse(b.subarray(5, 5 + n).toString('utf8'))
    const rest = b.length - 5 - n
    if (typeof h?.s !== 'string' || typeof h.k !== 'string' || typeof h.e !== 'number' || rest <= 0 || rest % 4 !== 0) return undefined
    const vector = new Float32Array(rest / 4)
    for (let i = 0, o = 5 + n; i < vector.length; i++, o += 4) vector[i] = b.readFloatLE(o)
    return { scope: h.s, key: h.k, expiresAt: h.e, vector }
  } catch {
    return undefined
  }
}
