/**
 * One Redis (standalone or Cluster) for the global limits and budgets of a worker, with the
 * guarantees the request path needs: a call never waits longer than the command timeout, never
 * queues while Redis is away, and after a failure the next calls fail at once until a probe
 * (one call per `probeIntervalMs`) gets through — so an outage costs requests nothing but the
 * failure mode's answer. ioredis reconnects by itself; `ready()` says whether Redis answers now.
 *
 * Lua scripts run with EVALSHA (the script cached by its SHA-1); a NOSCRIPT answer (Redis
 * restarted, SCRIPT FLUSH, a failover to a node that never saw the script) falls back to EVAL,
 * which caches it again. Commands issued in one tick share one write (auto-pipelining).
 */
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { log } from '../../shared/log.js'

/**
 * ioredis is loaded with the first connection, not with this module: every worker imports this
 * through stores.ts, and ioredis's 36 modules cost each isolate ≈1.7 MB of heap that a config
 * without Redis never uses (bench/RESULTS.md, the soak's footprint).
 */
let ioredis: typeof import('ioredis') | undefined
const loadIoredis = () => (ioredis ??= createRequire(import.meta.url)('ioredis') as typeof import('ioredis'))

export interface RedisConnectionConfig {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS; ignored when `cluster` is set. */
  readonly url?: string
  /** Seed nodes of a Redis Cluster. */
  readonly cluster?: readonly { readonly host: string; readonly port: number }[]
  /** A master found through Redis Sentinel (ioredis follows failovers). */
  readonly sentinel?: { readonly master: string; readonly nodes: readonly { readonly host: string; readonly port: number }[] }
  /** Do not connect until the first call (dry builds, which never make one). */
  readonly lazy?: boolean
  /** Overrides the URL's password (resolved from a secret). */
  readonly password?: string
  readonly tls?: boolean
  /** The longest a call may take before its limit follows its failure mode. */
  readonly commandTimeoutMs: number
  /** While Redis is failing, how often one call is let through to see whether it is back. Default 250 ms. */
  readonly probeIntervalMs?: number
  /** Name in logs. */
  readonly name?: string
}

/** A call refused without reaching Redis, or one Redis did not answer in time. */
export class RedisUnavailableError extends Error {
  readonly code = 'SY_REDIS_UNAVAILABLE'
}

const TIMEOUT = new RedisUnavailableError('redis did not answer within the command timeout')
const SKIPPED = new RedisUnavailableError('redis is unavailable (waiting for the next probe)')

/** Errors that say Redis itself is unwell (as opposed to a bad command). */
const UNWELL = /^(CLUSTERDOWN|LOADING|MASTERDOWN|TRYAGAIN|READONLY|BUSY)/

type Client = Redis | Cluster

export class RedisScript {
  readonly sha: string
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex')
  }
}

/** A lock (single key, value = the holder's token) kept alive only while the caller still holds it: ARGV token, ttl ms. */
export const RENEW_IF_HELD = new RedisScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`)
/** Deletes the lock only while the caller still holds it (never the next holder's after an expiry): ARGV token. */
export const DELETE_IF_HELD = new RedisScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

export class RedisConnection {
  readonly client: Client
  private readonly timeoutMs: number
  private readonly probeMs: number
  private readonly name: string
  private failing = false
  private nextProbeAt = 0

  constructor(config: RedisConnectionConfig) {
    this.timeoutMs = config.commandTimeoutMs
    this.probeMs = config.probeIntervalMs ?? 250
    this.name = config.name ?? 'redis'
    const common: RedisOptions = {
      commandTimeout: config.commandTimeoutMs,
      connectTimeout: Math.max(1000, config.commandTimeoutMs),
      // Never queue: a command while disconnected fails now, and the failure mode answers.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
      lazyConnect: config.lazy === true,
      ...(config.password !== undefined && { password: config.password }),
      ...(config.tls && { tls: {} }),
    }
    const retryStrategy = (times: number) => Math.min(50 * times, 1000)
    const { Cluster, Redis } = loadIoredis()
    if (config.cluster && config.cluster.length > 0) {
      this.client = new Cluster(config.cluster.map((n) => ({ host: n.host, port: n.port })), {
        redisOptions: common,
        enableOfflineQueue: false,
        clusterRetryStrategy: retryStrategy,
        // A CLUSTERDOWN or MOVED storm must not turn into seconds of retries inside one call.
        maxRedirections: 3,
        retryDelayOnClusterDown: 50,
        retryDelayOnFailover: 50,
        retryDelayOnTryAgain: 50,
        slotsRefreshTimeout: Math.max(1000, config.commandTimeoutMs),
      })
    } else if (config.sentinel) {
      this.client = new Redis({ ...common, retryStrategy, sentinels: config.sentinel.nodes.map((n) => ({ host: n.host, port: n.port })), name: config.sentinel.master })
    } else {
      this.client = new Redis(config.url ?? 'redis://127.0.0.1:6379', { ...common, retryStrategy })
    }
    // ioredis emits 'error' for every failed reconnect; the transitions below are what the log needs.
    this.client.on('error', () => {})
    this.client.on('ready', () => this.recovered())
    this.client.on('close', () => this.failed('connection closed'))
  }

  /** Redis answers now (for /ready). */
  ready(): boolean {
    return this.client.status === 'ready' && !this.failing
  }

  /** Runs a script on the keys (all in one hash slot); rejects with RedisUnavailableError when Redis cannot answer in time. */
  evalScript(script: RedisScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.run((c) =>
      c.evalsha(script.sha, keys.length, ...keys, ...args).catch((e: Error) => {
        if (!String(e?.message).startsWith('NOSCRIPT')) throw e
        return c.eval(script.source, keys.length, ...keys, ...args)
      }),
    )
  }

  /** Any command sequence, under the same deadline and health rules. */
  run<T>(call: (c: Client) => Promise<T>): Promise<T> {
    if (this.failing || this.client.status !== 'ready') {
      const now = Date.now()
      if (now < this.nextProbeAt || this.client.status !== 'ready') return Promise.reject(SKIPPED)
      this.nextProbeAt = now + this.probeMs
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failed('command timeout')
        reject(TIMEOUT)
      }, this.timeoutMs)
      call(this.client).then(
        (v) => {
          clearTimeout(timer)
          this.recovered()
          resolve(v)
        },
        (e: Error) => {
          clearTimeout(timer)
          const reply = e?.name === 'ReplyError' && !UNWELL.test(String(e.message))
          if (!reply) this.failed(String(e?.message ?? e))
          reject(reply ? e : new RedisUnavailableError(String(e?.message ?? e)))
        },
      )
    })
  }

  async close(): Promise<void> {
    this.client.removeAllListeners('ready')
    this.client.removeAllListeners('close')
    // A lazy connection that never connected has nothing to say goodbye to.
    if (this.client.status === 'wait') return void this.client.disconnect()
    try {
      await this.client.quit()
    } catch {
      this.client.disconnect()
    }
  }

  private failed(why: string): void {
    if (!this.failing) log('warn', `${this.name} unavailable; limits follow their failure_mode`, { reason: why })
    this.failing = true
    this.nextProbeAt = Date.now() + this.probeMs
  }

  private recovered(): void {
    if (!this.failing) return
    this.failing = false
    log('info', `${this.name} reachable again`)
  }
}
