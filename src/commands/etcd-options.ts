/**
 * Command-line options for reaching etcd, shared by `run --etcd` and `config push|diff|pull`.
 * Secrets never come from flags (they would show in `ps`): the password from
 * SWITCHYARD_ETCD_PASSWORD or --etcd-password-file.
 */
import { existsSync, readFileSync } from 'node:fs'
import type { EtcdConnectOptions } from '../control/sources/etcd-client.js'
import { normalizePrefix } from '../control/sources/etcd-layout.js'
import { UsageError, type Flag } from './flags.js'

/** The flags of `run --etcd` and `config push|diff|pull` (where --etcd and --prefix are required). */
export const ETCD_FLAGS = [
  { name: 'etcd', type: 'string', value: '<url>[,<url>…]', description: 'etcd endpoints, e.g. http://127.0.0.1:2379 (https:// for TLS)' },
  { name: 'prefix', type: 'string', value: '<prefix>', description: 'key prefix of one environment, e.g. /switchyard/prod/' },
  { name: 'etcd-user', type: 'string', value: '<name>', defaultText: '$SWITCHYARD_ETCD_USER', description: 'user for etcd auth; the password comes from $SWITCHYARD_ETCD_PASSWORD or --etcd-password-file' },
  { name: 'etcd-password-file', type: 'string', value: '<file>', description: 'file holding the etcd password (a password flag would show in ps)' },
  { name: 'etcd-ca', type: 'string', value: '<file>', description: 'CA bundle (PEM) to verify etcd over TLS' },
  { name: 'etcd-cert', type: 'string', value: '<file>', description: 'client certificate (PEM), with --etcd-key' },
  { name: 'etcd-key', type: 'string', value: '<file>', description: 'client key (PEM), with --etcd-cert' },
  { name: 'etcd-timeout', type: 'duration', default: '5s', description: "per-call deadline, and how long 'run' tries to reach etcd at start" },
] as const satisfies readonly Flag[]

export interface EtcdTarget {
  readonly connect: EtcdConnectOptions
  readonly prefix: string
  readonly timeoutMs: number
}

/** Parsed ETCD_FLAGS (`etcd-timeout` already in milliseconds). */
export interface EtcdValues {
  readonly etcd?: string
  readonly prefix?: string
  readonly 'etcd-user'?: string
  readonly 'etcd-password-file'?: string
  readonly 'etcd-ca'?: string
  readonly 'etcd-cert'?: string
  readonly 'etcd-key'?: string
  readonly 'etcd-timeout': number
}

/** From parsed flags (and the environment); throws UsageError with a message for the user. */
export function etcdTargetFrom(values: EtcdValues, env: NodeJS.ProcessEnv = process.env): EtcdTarget {
  const endpoints = values.etcd
  const prefix = values.prefix
  if (!endpoints) throw new UsageError('--etcd <url> is required')
  if (!prefix) throw new UsageError('--prefix <prefix> is required (e.g. /switchyard/prod/)')
  const list = endpoints.split(',').map((s) => s.trim()).filter(Boolean)
  for (const e of list) {
    if (!/^https?:\/\/[^/]+\/?$/.test(e)) throw new UsageError(`--etcd wants http(s)://host:port, got '${e}'`)
  }
  const timeoutMs = values['etcd-timeout']
  const username = values['etcd-user'] ?? env.SWITCHYARD_ETCD_USER
  const passwordFile = values['etcd-password-file']
  let password = env.SWITCHYARD_ETCD_PASSWORD
  if (passwordFile !== undefined) {
    try {
      password = readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '')
    } catch (e) {
      throw new UsageError(`--etcd-password-file: ${(e as Error).message}`)
    }
  }
  if (password !== undefined && username === undefined) throw new UsageError('an etcd password is set but no user (--etcd-user or SWITCHYARD_ETCD_USER)')
  const caFile = values['etcd-ca']
  const certFile = values['etcd-cert']
  const keyFile = values['etcd-key']
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--etcd-cert and --etcd-key go together')
  for (const [flag, file] of [['--etcd-ca', caFile], ['--etcd-cert', certFile], ['--etcd-key', keyFile]] as const) {
    if (file !== undefined && !existsSync(file)) throw new UsageError(`${flag}: ${file} does not exist`)
  }
  return {
    prefix: normalizePrefix(prefix),
    timeoutMs,
    connect: {
      endpoints: list.map((e) => e.replace(/\/$/, '')),
      callTimeoutMs: timeoutMs,
      ...(username !== undefined && { username }),
      ...(password !== undefined && { password }),
      ...(caFile !== undefined && { caFile }),
      ...(certFile !== undefined && { certFile }),
      ...(keyFile !== undefined && { keyFile }),
    },
  }
}
