/**
 * Command-line options for reaching etcd, shared by `run --etcd` and `config push|diff|pull`.
 * Secrets never come from flags (they would show in `ps`): the password from
 * SWITCHYARD_ETCD_PASSWORD or --etcd-password-file.
 */
import { existsSync, readFileSync } from 'node:fs'
import type { ParseArgsConfig } from 'node:util'
import type { EtcdConnectOptions } from '../runtime/sources/etcd-client.js'
import { normalizePrefix } from '../runtime/sources/etcd-layout.js'
import { durationMs } from '../compiler/units.js'

export const ETCD_OPTIONS = {
  etcd: { type: 'string' },
  prefix: { type: 'string' },
  'etcd-user': { type: 'string' },
  'etcd-password-file': { type: 'string' },
  'etcd-ca': { type: 'string' },
  'etcd-cert': { type: 'string' },
  'etcd-key': { type: 'string' },
  'etcd-timeout': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>

export const ETCD_USAGE = `etcd options:
  --etcd <url>[,<url>…]        etcd endpoints, e.g. http://127.0.0.1:2379 (https:// for TLS)
  --prefix <prefix>            key prefix of one environment, e.g. /switchyard/prod/
  --etcd-user <name>           user for etcd auth (or SWITCHYARD_ETCD_USER); the password comes
                               from SWITCHYARD_ETCD_PASSWORD or --etcd-password-file <file>
  --etcd-ca/--etcd-cert/--etcd-key <file>   TLS: CA bundle, client certificate and key (PEM)
  --etcd-timeout <duration>    per-call deadline, and how long 'run' tries at start (default 5s)`

export interface EtcdTarget {
  readonly connect: EtcdConnectOptions
  readonly prefix: string
  readonly timeoutMs: number
}

export class UsageError extends Error {}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>

function str(values: Values, name: string): string | undefined {
  const v = values[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw new UsageError(`--${name} needs a value`)
  return v
}

/** From parsed flags (and the environment); throws UsageError with a message for the user. */
export function etcdTargetFrom(values: Values, env: NodeJS.ProcessEnv = process.env): EtcdTarget {
  const endpoints = str(values, 'etcd')
  const prefix = str(values, 'prefix')
  if (!endpoints) throw new UsageError('--etcd <url> is required')
  if (!prefix) throw new UsageError('--prefix <prefix> is required (e.g. /switchyard/prod/)')
  const list = endpoints.split(',').map((s) => s.trim()).filter(Boolean)
  for (const e of list) {
    if (!/^https?:\/\/[^/]+\/?$/.test(e)) throw new UsageError(`--etcd wants http(s)://host:port, got '${e}'`)
  }
  const timeout = str(values, 'etcd-timeout') ?? '5s'
  let timeoutMs: number
  try {
    timeoutMs = durationMs(timeout)
  } catch {
    throw new UsageError(`--etcd-timeout wants a duration like 5s or 500ms, got '${timeout}'`)
  }
  const username = str(values, 'etcd-user') ?? env.SWITCHYARD_ETCD_USER
  const passwordFile = str(values, 'etcd-password-file')
  let password = env.SWITCHYARD_ETCD_PASSWORD
  if (passwordFile !== undefined) {
    try {
      password = readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '')
    } catch (e) {
      throw new UsageError(`--etcd-password-file: ${(e as Error).message}`)
    }
  }
  if (password !== undefined && username === undefined) throw new UsageError('an etcd password is set but no user (--etcd-user or SWITCHYARD_ETCD_USER)')
  const caFile = str(values, 'etcd-ca')
  const certFile = str(values, 'etcd-cert')
  const keyFile = str(values, 'etcd-key')
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
