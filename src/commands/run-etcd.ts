/**
 * `switchyard run --etcd <url> --prefix <p> [--etcd-fallback <file|dir>]`: serve the config kept
 * in etcd. Plugs into `run` through commands/index.ts `sourceFactories`.
 */
import { createEtcdSource } from '../control/sources/etcd.js'
import type { ConfigSource } from '../control/sources/source.js'
import { ETCD_FLAGS, etcdTargetFrom } from './etcd-options.js'
import { UsageError } from './flags.js'
import type { RunValues } from './specs.js'

const ETCD_ONLY = [...ETCD_FLAGS.map((f) => f.name), 'etcd-fallback']

export function etcdSourceFactory(values: RunValues, given: ReadonlySet<string>): ConfigSource | undefined {
  if (!given.has('etcd') && !given.has('prefix')) {
    const stray = ETCD_ONLY.find((name) => given.has(name))
    if (stray) throw new UsageError(`--${stray} only applies with --etcd <url> --prefix <prefix>`)
    return undefined
  }
  if (values.config !== undefined) throw new UsageError('a config file and --etcd exclude each other (use --etcd-fallback <dir> for a local config to start from)')
  const target = etcdTargetFrom(values)
  const fallback = values['etcd-fallback']
  return createEtcdSource({
    client: async () => (await import('../control/sources/etcd-client.js')).createEtcdClient(target.connect),
    endpoints: target.connect.endpoints,
    prefix: target.prefix,
    connectTimeoutMs: target.timeoutMs,
    ...(fallback !== undefined && { fallback }),
  })
}
