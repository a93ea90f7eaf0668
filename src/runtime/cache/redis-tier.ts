/**
 * The shared tier: entries in Redis, so every gateway host answers from what any of them stored.
 * Values are the encoded entry compressed (deflate-raw, behind a one-byte format tag), with the
 * TTL in Redis itself (SET … PX). It never fails a request: a Redis that is away, slow (the
 * connection's command timeout) or returns garbage is a miss, and a failed write is dropped —
 * the memory tier goes on working.
 */
import { deflateRaw, inflateRaw } from 'node:zlib'
import { promisify } from 'node:util'
import type { RedisConnection } from '../limits/redis-connection.js'

const deflate = promisify(deflateRaw)
const inflate = promisify(inflateRaw)

/** Format tags: the first byte of every stored value. */
const RAW = 0
const DEFLATED = 1
/** Values below this are stored uncompressed (compression costs more than it saves). */
const COMPRESS_OVER = 512

export class RedisTier {
  /** Writes and reads that failed (Redis away or slow), for the admin view. */
  failures = 0

  constructor(private readonly redis: RedisConnection, private readonly prefix: string) {}

  keyOf(key: string): string {
    return `${this.prefix}cache:${key}`
  }

  /** The entry stored under `key`, or undefined (absent, expired, Redis away, unreadable). */
  async get(key: string): Promise<Buffer | undefined> {
    let v: Buffer | null
    try {
      v = await this.redis.run((c) => c.getBuffer(this.keyOf(key)))
    } catch {
      this.failures++
      return undefined
    }
    if (v === null || v.length === 0) return undefined
    if (v[0] === RAW) return v.subarray(1)
    if (v[0] !== DEFLATED) return undefined
    try {
      return await inflate(v.subarray(1))
    } catch {
      return undefined
    }
  }

  /** Stores in the background; the caller never waits for Redis. */
  set(key: string, entry: Buffer, ttlMs: number): void {
    void this.write(key, entry, Math.max(1, Math.round(ttlMs)))
  }

  private async write(key: string, entry: Buffer, ttlMs: number): Promise<void> {
    try {
      const value = entry.length < COMPRESS_OVER ? Buffer.concat([TAG_RAW, entry]) : Buffer.concat([TAG_DEFLATED, await deflate(entry)])
      await this.redis.run((c) => c.set(this.keyOf(key), value, 'PX', ttlMs))
    } catch {
      this.failures++
    }
  }
}

const TAG_RAW = Buffer.from([RAW])
const TAG_DEFLATED = Buffer.from([DEFLATED])
