/**
 * etcd v3 connection (npm `etcd3`, gRPC underneath) tuned for a config center: unary calls get a
 * deadline, reconnects are retried quickly (backoff capped at 1 s) instead of the library's
 * defaults (a per-host circuit breaker that stays open 5 s, watch backoff growing to 30 s), so a
 * gateway resyncs within about a second of etcd coming back.
 */
import { readFileSync } from 'node:fs'
import { Etcd3, type IOptions } from 'etcd3'

export interface EtcdConnectOptions {
  /** `http://host:2379` or `https://…`; several for a cluster. */
  readonly endpoints: readonly string[]
  readonly username?: string
  readonly password?: string
  /** PEM files for TLS: CA bundle (default: system roots), client certificate and key. */
  readonly caFile?: string
  readonly certFile?: string
  readonly keyFile?: string
  /** Deadline of each unary call (range, txn, …). Default 5000 ms. */
  readonly callTimeoutMs?: number
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>
type Backoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>

/** Runs the call once; retries and reconnects are ours (and grpc's), not a circuit breaker's. */
const passThrough = { execute: (fn: (ctx: { signal: AbortSignal }) => unknown) => Promise.resolve().then(() => fn({ signal: new AbortController().signal })) } as unknown as Policy

/** Exponential backoff from `ms`, capped at `max`, with ±20% jitter. */
function cappedBackoff(ms = 100, max = 1000): Backoff {
  return { duration: ms * (0.8 + Math.random() * 0.4), next: () => cappedBackoff(Math.min(ms * 2, max), max) } as unknown as Backoff
}

export function createEtcdClient(opts: EtcdConnectOptions): Etcd3 {
  const callTimeoutMs = opts.callTimeoutMs ?? 5000
  const tls = opts.caFile !== undefined || opts.certFile !== undefined || opts.keyFile !== undefined
  if ((opts.certFile === undefined) !== (opts.keyFile === undefined)) throw new Error('TLS client auth needs both a certificate and a key')
  const options: IOptions = {
    hosts: [...opts.endpoints],
    ...(tls && {
      credentials: {
        // null = system roots (grpc-js accepts it; etcd3's type says Buffer).
        rootCertificate: (opts.caFile !== undefined ? readFileSync(opts.caFile) : null) as Buffer,
        ...(opts.keyFile !== undefined && { privateKey: readFileSync(opts.keyFile) }),
        ...(opts.certFile !== undefined && { certChain: readFileSync(opts.certFile) }),
      },
    }),
    ...(opts.username !== undefined && { auth: { username: opts.username, password: opts.password ?? '', callOptions: () => ({ deadline: Date.now() + callTimeoutMs }) } }),
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    grpcOptions: {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      // Notice a silently dead peer (no RST) within ~15 s; etcd allows pings every 5 s or more.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5000,
    },
    faultHandling: { host: () => passThrough, global: passThrough, watchBackoff: cappedBackoff() },
  }
  return new Etcd3(options)
}
