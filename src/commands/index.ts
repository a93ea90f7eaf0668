/**
 * The commands and config sources that live outside the core CLI (etcd's): the commands are
 * registered when cli.ts loads this module; `run` asks `sourceFactories` for a source.
 */
import type { ConfigSource } from '../control/sources/source.js'
import { registerCommand } from './dispatch.js'
import { etcdTargetFrom } from './etcd-options.js'
import type { Parsed } from './flags.js'
import { etcdSourceFactory } from './run-etcd.js'
import { CONFIG_DIFF, CONFIG_HISTORY, CONFIG_PULL, CONFIG_PUSH, CONFIG_ROLLBACK, EXPERIMENTS, KEYS_CREATE, KEYS_LIST, KEYS_REVOKE, ENDPOINTS_REGISTER, ROLLOUT_ABORT, ROLLOUT_PAUSE, ROLLOUT_RESUME, ROLLOUT_STATUS, MODELS_LIST, MODELS_SHOW, type RunValues } from './specs.js'
import { UsageError } from './flags.js'

/** A config source other than files, when `run`'s flags ask for one (else undefined). */
export type SourceFactory = (values: RunValues, given: ReadonlySet<string>) => ConfigSource | undefined

export const sourceFactories: readonly SourceFactory[] = [etcdSourceFactory]

// Loaded on use: etcd3 brings gRPC, which every other command can do without.
registerCommand(CONFIG_PUSH, async ({ values, operand }: Parsed<typeof CONFIG_PUSH>) => (await import('./config.js')).configCommand('push', operand!, etcdTargetFrom(values), values.message))
registerCommand(CONFIG_DIFF, async ({ values, operand }: Parsed<typeof CONFIG_DIFF>) => {
  if (values.from !== undefined || values.to !== undefined) {
    if (values.from === undefined || values.to === undefined) throw new UsageError('give both --from and --to (versions from config history)')
    if (operand !== undefined || values.etcd !== undefined) throw new UsageError('--from/--to compare two applied versions; give them without a config or --etcd')
    return (await import('./config-history.js')).diffVersions(values.admin, values.from, values.to)
  }
  if (operand === undefined) throw new UsageError('missing config: give the config to compare with the prefix (or --from and --to)')
  return (await import('./config.js')).configCommand('diff', operand, etcdTargetFrom(values))
})
registerCommand(CONFIG_PULL, async ({ values, operand }: Parsed<typeof CONFIG_PULL>) => (await import('./config.js')).configCommand('pull', operand!, etcdTargetFrom(values)))
registerCommand(CONFIG_HISTORY, async ({ values }: Parsed<typeof CONFIG_HISTORY>) => (await import('./config-history.js')).historyCommand(values.admin, values.json === true))
registerCommand(CONFIG_ROLLBACK, async ({ values }: Parsed<typeof CONFIG_ROLLBACK>) => {
  const h = await import('./config-history.js')
  return values.etcd !== undefined ? h.rollbackEtcd(etcdTargetFrom(values), values.to!, values.message) : h.rollbackFiles(values.admin, values.to!)
})

/** `--config` or `--etcd`/`--prefix`, exactly one. */
function keysTarget(values: { config?: string; etcd?: string; prefix?: string; 'etcd-timeout': number }) {
  if (values.config !== undefined && values.etcd !== undefined) throw new UsageError('give --config or --etcd, not both')
  if (values.config !== undefined) return { file: values.config }
  if (values.etcd === undefined) throw new UsageError('where are the keys? give --config <file|dir>, or --etcd <url> with --prefix')
  return { etcd: etcdTargetFrom(values) }
}
registerCommand(KEYS_CREATE, async ({ values }: Parsed<typeof KEYS_CREATE>) => {
  const { keysCommand, modelList } = await import('./keys.js')
  const models = modelList(values.models)
  return keysCommand('create', keysTarget(values), {
    create: { tenant: values.tenant!, ...(values.id !== undefined && { id: values.id }), ...(models && { models }), ...(values.expires !== undefined && { expires: values.expires }) },
  })
})
registerCommand(KEYS_LIST, async ({ values }: Parsed<typeof KEYS_LIST>) => (await import('./keys.js')).keysCommand('list', keysTarget(values), {}))
registerCommand(KEYS_REVOKE, async ({ values, operand }: Parsed<typeof KEYS_REVOKE>) => (await import('./keys.js')).keysCommand('revoke', keysTarget(values), { id: operand! }))
registerCommand(EXPERIMENTS, async ({ values }: Parsed<typeof EXPERIMENTS>) => (await import('./experiments.js')).experimentsCommand(values.admin!, values.json === true))
registerCommand(ROLLOUT_STATUS, async ({ values, operand }: Parsed<typeof ROLLOUT_STATUS>) => (await import('./rollout.js')).rolloutStatus(values.admin!, operand, values.json === true))
for (const spec of [ROLLOUT_PAUSE, ROLLOUT_RESUME, ROLLOUT_ABORT]) {
  registerCommand(spec, async ({ values, operand }: Parsed<typeof spec>) => (await import('./rollout.js')).rolloutCommand(values.admin!, spec.name.split(' ')[1] as 'pause' | 'resume' | 'abort', operand))
}
registerCommand(ENDPOINTS_REGISTER, async ({ values }: Parsed<typeof ENDPOINTS_REGISTER>) => {
  const target = etcdTargetFrom(values)
  return (await import('./endpoints.js')).registerEndpoint({ cluster: values.cluster!, url: values.url!, weight: values.weight, ...(values.name !== undefined && { name: values.name }), ttlMs: values.ttl }, target)
})
for (const spec of [MODELS_LIST, MODELS_SHOW]) {
  registerCommand(spec, async ({ values, operand, given }: Parsed<typeof spec>) => {
    if (values.config !== undefined && given.has('admin')) throw new UsageError('give --config or --admin, not both')
    return (await import('./models.js')).modelsCommand(spec.name === 'models list' ? 'list' : 'show', { ...(values.config !== undefined && { config: values.config }), admin: values.admin! }, values.json === true, operand)
  })
}
