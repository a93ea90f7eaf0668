/**
 * `switchyard run --etcd <url> --prefix <p> [--etcd-fallback <file|dir>]`: serve the config kept
 * in etcd. Plugs into `run` through `sourceFactories`.
 */
import { parseArgs } from 'node:util'
import { createEtcdSource } from '../runtime/sources/etcd.js'
import type { ConfigSource } from '../runtime/sources/source.js'
import { ETCD_OPTIONS, ETCD_USAGE, etcdTargetFrom, UsageError } from './etcd-options.js'

const RUN_OPTIONS = {
  ...ETCD_OPTIONS,
  'etcd-fallback': { type: 'string' },
  config: { type: 'string', short: 'c' },
  workers: { type: 'string', short: 'w' },
  'admin-port': { type: 'string' },
} as const

/**
 * `run` parses its flags with strict: false and without our options, so `--etcd URL` arrives as
 * `etcd: true` with the URL among the positionals. When that happens, parse the raw arguments
 * again (given to us, or `process.argv` after `run`) with our options declared.
 */
function etcdValues(values: Record<string, unknown>, args?: readonly string[]): Record<string, unknown> {
  const complete = Object.keys(RUN_OPTIONS).every((k) => typeof values[k] !== 'boolean')
  if (complete) return values
  const raw = args ?? process.argv.slice(process.argv.indexOf('run') + 1)
  return parseArgs({ args: [...raw], strict: false, allowPositionals: true, options: RUN_OPTIONS }).values
}

export function etcdSourceFactory(values: Record<string, unknown>, args?: readonly string[]): ConfigSource | undefined {
  if (values.etcd === undefined && values.prefix === undefined) return undefined
  const v = etcdValues(values, args)
  try {
    if (v.config !== undefined) throw new UsageError('-c/--config and --etcd exclude each other (use --etcd-fallback <dir> for a local config to start from)')
    const target = etcdTargetFrom(v as Parameters<typeof etcdTargetFrom>[0])
    const fallback = v['etcd-fallback']
    if (fallback !== undefined && typeof fallback !== 'string') throw new UsageError('--etcd-fallback needs a file or directory')
    return createEtcdSource({
      client: async () => (await import('../runtime/sources/etcd-client.js')).createEtcdClient(target.connect),
      endpoints: target.connect.endpoints,
      prefix: target.prefix,
      connectTimeoutMs: target.timeoutMs,
      ...(fallback !== undefined && { fallback }),
    })
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    console.error(`switchyard run: ${e.message}\n${ETCD_USAGE}\n  --etcd-fallback <file|dir>   local config to serve when etcd is unreachable at start`)
    process.exit(2)
  }
}
